import { Controller, Get, Param } from '@nestjs/common';
import { Queries, type ByIdQuery, type ValidationReportView } from '@hotswap/contracts';
import { ANY_ROLE, Roles } from '../../auth/roles.js';
import { IdParamPipe } from '../../shared/id-param.pipe.js';
import { ServiceClient } from '../../shared/service-client.js';

@Controller('api/v1/models')
export class GetValidationReportController {
  constructor(private readonly services: ServiceClient) {}

  @Get(':id/validation-report')
  @Roles(ANY_ROLE)
  getValidationReport(@Param('id', new IdParamPipe('model id')) id: string): Promise<ValidationReportView> {
    return this.services.request<ByIdQuery, ValidationReportView>(Queries.getValidationReport, { id });
  }
}
