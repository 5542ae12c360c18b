// @Type() reads design metadata when the DTO class is declared; the NestJS apps load this polyfill at boot.
import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Type } from 'class-transformer';
import { IsInt, IsString, Min, ValidateNested } from 'class-validator';
import { validateWith } from './index.js';

class Size {
  @IsInt()
  @Min(1)
  bytes!: number;
}

class UploadModel {
  @IsString()
  name!: string;

  @ValidateNested()
  @Type(() => Size)
  size!: Size;
}

describe('validateWith', () => {
  const validate = validateWith(UploadModel);

  it('returns an instance of the DTO for a valid payload', async () => {
    const result = await validate({ name: 'resnet', size: { bytes: 10 } });
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value).toBeInstanceOf(UploadModel);
      expect(result.value.size).toBeInstanceOf(Size);
      expect(result.value).toEqual({ name: 'resnet', size: { bytes: 10 } });
    }
  });

  it('lists every failing property with its constraint, nested ones as paths', async () => {
    expect(await validate({ name: 42, size: { bytes: 0 } })).toEqual({
      ok: false,
      reason: 'name: name must be a string [isString]; size.bytes: bytes must not be less than 1 [min]',
    });
  });

  it('refuses unknown properties', async () => {
    expect(await validate({ name: 'resnet', size: { bytes: 1 }, admin: true })).toEqual({
      ok: false,
      reason: 'admin: property admin should not exist [whitelistValidation]',
    });
  });

  it.each([
    [undefined, 'nothing'],
    [null, 'null'],
    [[1, 2], 'an array'],
    ['text', 'a string'],
    [7, 'a number'],
  ])('refuses the non-object payload %j', async (payload, described) => {
    expect(await validate(payload)).toEqual({ ok: false, reason: `payload must be a JSON object, got ${described}` });
  });
});
