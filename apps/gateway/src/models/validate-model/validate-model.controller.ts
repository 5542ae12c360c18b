import { Body, Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import {
  Commands, ValidateModelDto, type ValidateModelCommand, type ValidationStartedReply,
} from '@hotswap/contracts';
import { CurrentPrincipal } from '../../auth/auth.guard.js';
import { Roles } from '../../auth/roles.js';
import type { Principal } from '../../auth/tokens.js';
import { IdParamPipe } from '../../shared/id-param.pipe.js';
import { ServiceClient } from '../../shared/service-client.js';

@Controller('api/v1/models')
export class ValidateModelController {
  constructor(private readonly services: ServiceClient) {}

  /** Accepted, not done: the steps run on; poll `GET /api/v1/models/{id}/validation-report`. */
  @Post(':id/validate')
  @HttpCode(HttpStatus.ACCEPTED)
  @Roles(['Admin', 'ModelDeveloper'])
  async validateModel(
    @Param('id', new IdParamPipe('model id')) id: string,
    @Body() body: ValidateModelDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ValidationStartedReply> {
    const command: ValidateModelCommand = {
      actor: principal.subject, modelId: id,
      ...(body?.thresholds ? { thresholds: { ...body.thresholds } } : {}),
      ...(body?.datasetId !== undefined ? { datasetId: body.datasetId } : {}),
      ...(body?.onDevice !== undefined ? { onDevice: body.onDevice } : {}),
    };
    const { status, validationId } = await this.services.request<ValidateModelCommand, ValidationStartedReply>(Commands.validateModel, command);
    return { id, status, validationId };
  }
}
