import { dirname, join } from 'node:path';
import ts from 'typescript';
import type { JsonSchema } from './json-schema.js';

/**
 * JSON Schemas of the TypeScript types `libs/contracts` exports (events, command and query
 * payloads, views): interfaces leave nothing at run time, so their shapes are read from the
 * source with the TypeScript compiler. Only the document generator uses this (a build-time tool):
 * it is not exported from the package entry, so services never load the compiler.
 *
 * Named object types (interfaces, classes, aliases of object types) become `$ref`s to
 * `<refPrefix><Name>` and are kept in `schemas`; doc comments become descriptions.
 */
export class TypeSchemas {
  readonly schemas: Record<string, JsonSchema> = {};
  private readonly checker: ts.TypeChecker;
  private readonly probe: ts.SourceFile;
  private readonly exported: Map<string, ts.Symbol>;
  private readonly contractsDir: string;

  /** @param contractsIndex path of `libs/contracts/src/index.ts` */
  constructor(contractsIndex: string, private readonly refPrefix: string, private readonly expressions: readonly string[] = []) {
    this.contractsDir = dirname(contractsIndex);
    // A virtual module naming each type expression asked for, so generic instances (`Page<ModelView>`) resolve too.
    const probePath = join(this.contractsDir, '__type_schemas_probe__.ts');
    const probeText = [
      "import type * as C from './index.js';",
      ...this.expressions.map((expression, i) => `export type P${i} = ${qualify(expression)};`),
    ].join('\n');
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true, noEmit: true, skipLibCheck: true, experimentalDecorators: true, emitDecoratorMetadata: true, types: [],
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (fileName, languageVersion, ...rest) => fileName === probePath
      ? ts.createSourceFile(fileName, probeText, languageVersion, true)
      : getSourceFile(fileName, languageVersion, ...rest);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (fileName) => fileName === probePath || fileExists(fileName);
    const program = ts.createProgram({ rootNames: [probePath], options, host });
    this.checker = program.getTypeChecker();
    const probe = program.getSourceFile(probePath);
    const index = program.getSourceFile(contractsIndex);
    if (probe === undefined || index === undefined) throw new Error(`cannot read the contracts at ${contractsIndex}`);
    this.probe = probe;
    const moduleSymbol = this.checker.getSymbolAtLocation(index);
    this.exported = new Map((moduleSymbol ? this.checker.getExportsOfModule(moduleSymbol) : []).map((symbol) => [symbol.name, symbol]));
  }

  /** Whether the contracts export a type of this name. */
  has(name: string): boolean {
    const symbol = this.exported.get(name);
    return symbol !== undefined && (symbol.flags & (ts.SymbolFlags.Type | ts.SymbolFlags.Alias)) !== 0;
  }

  /** The schema of the n-th type expression given to the constructor. */
  schemaOf(expression: string): JsonSchema {
    const i = this.expressions.indexOf(expression);
    if (i < 0) throw new Error(`type expression ${expression} was not declared up front`);
    const alias = this.probe.statements[i + 1] as ts.TypeAliasDeclaration;
    return this.schema(this.checker.getTypeFromTypeNode(alias.type));
  }

  /** The members of a union type alias (`ModelEvent`), each by its `type` literal, with the member's doc comment. */
  unionMembers(expression: string): Array<{ literal: string; schema: JsonSchema; description: string }> {
    const i = this.expressions.indexOf(expression);
    if (i < 0) throw new Error(`type expression ${expression} was not declared up front`);
    const alias = this.probe.statements[i + 1] as ts.TypeAliasDeclaration;
    const type = this.checker.getTypeFromTypeNode(alias.type);
    const members = type.isUnion() ? type.types : [type];
    const descriptions = this.memberDescriptions(alias.type);
    return members.map((member) => {
      const tag = member.getProperty('type');
      const tagType = tag && this.checker.getTypeOfSymbol(tag);
      const literal = tagType?.isStringLiteral() ? tagType.value : '';
      return { literal, schema: this.schema(member), description: descriptions.get(literal) ?? '' };
    });
  }

  /** The doc comments of the aliases a union lists (`ModelUploaded | …`), by their `type` literal. */
  private memberDescriptions(node: ts.TypeNode): Map<string, string> {
    const descriptions = new Map<string, string>();
    let symbol = ts.isTypeReferenceNode(node) ? this.checker.getSymbolAtLocation(node.typeName) : undefined;
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = this.checker.getAliasedSymbol(symbol);
    const declaration = symbol?.declarations?.[0];
    if (declaration === undefined || !ts.isTypeAliasDeclaration(declaration) || !ts.isUnionTypeNode(declaration.type)) return descriptions;
    for (const member of declaration.type.types) {
      if (!ts.isTypeReferenceNode(member)) continue;
      const memberSymbol = this.checker.getSymbolAtLocation(member.typeName);
      const tag = this.checker.getTypeFromTypeNode(member).getProperty('type');
      const tagType = tag && this.checker.getTypeOfSymbol(tag);
      const described = memberSymbol ? ts.displayPartsToString(memberSymbol.getDocumentationComment(this.checker)).trim() : '';
      if (tagType?.isStringLiteral() && described) descriptions.set(tagType.value, described);
    }
    return descriptions;
  }

  private schema(type: ts.Type): JsonSchema {
    const flags = type.flags;
    if (flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return {};
    if (flags & ts.TypeFlags.StringLiteral) return { const: (type as ts.StringLiteralType).value };
    if (flags & ts.TypeFlags.NumberLiteral) return { const: (type as ts.NumberLiteralType).value };
    if (flags & ts.TypeFlags.BooleanLiteral) return { const: this.checker.typeToString(type) === 'true' };
    if (flags & ts.TypeFlags.String) return { type: 'string' };
    if (flags & ts.TypeFlags.Number) return { type: 'number' };
    if (flags & ts.TypeFlags.BigInt) return { type: 'integer' };
    if (flags & ts.TypeFlags.Boolean) return { type: 'boolean' };
    if (flags & ts.TypeFlags.Null) return { type: 'null' };
    if (type.isUnion()) return this.union(type.types);
    if (this.checker.isArrayType(type) || this.checker.isTupleType(type)) {
      const [item] = this.checker.getTypeArguments(type as ts.TypeReference);
      return { type: 'array', ...(item ? { items: this.schema(item) } : {}) };
    }
    if (flags & ts.TypeFlags.Object || type.isIntersection()) return this.named(type) ?? this.object(type);
    return {};
  }

  private union(types: readonly ts.Type[]): JsonSchema {
    const present = types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)));
    const literals = present.filter((t) => t.isStringLiteral()) as ts.StringLiteralType[];
    const booleans = present.filter((t) => t.flags & ts.TypeFlags.BooleanLiteral);
    const rest = present.filter((t) => !t.isStringLiteral() && !(t.flags & ts.TypeFlags.BooleanLiteral));
    const parts: JsonSchema[] = [
      ...(literals.length > 0 ? [{ type: 'string', enum: literals.map((t) => t.value) }] : []),
      ...(booleans.length === 2 ? [{ type: 'boolean' }] : booleans.map((t) => this.schema(t))),
      ...rest.map((t) => this.schema(t)),
    ];
    return parts.length === 1 ? parts[0] : { anyOf: parts };
  }

  /** A `$ref` for an interface, class or object alias declared in the contracts; undefined for anonymous types. */
  private named(type: ts.Type): JsonSchema | undefined {
    const symbol = type.aliasSymbol && !type.aliasTypeArguments ? type.aliasSymbol : type.getSymbol();
    if (symbol === undefined || !(symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class | ts.SymbolFlags.TypeAlias))) return undefined;
    if ((type as ts.TypeReference).typeArguments?.length) return undefined;
    const declaration = symbol.declarations?.[0];
    if (declaration === undefined || !declaration.getSourceFile().fileName.startsWith(this.contractsDir)) return undefined;
    const name = symbol.name;
    if (!(name in this.schemas)) {
      this.schemas[name] = {};
      const described = ts.displayPartsToString(symbol.getDocumentationComment(this.checker)).trim();
      this.schemas[name] = { ...this.object(type), ...(described ? { description: described } : {}) };
    }
    return { $ref: `${this.refPrefix}${name}` };
  }

  private object(type: ts.Type): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const property of this.checker.getPropertiesOfType(type)) {
      const propertyType = this.checker.getTypeOfSymbol(property);
      if (propertyType.getCallSignatures().length > 0) continue;
      const described = ts.displayPartsToString(property.getDocumentationComment(this.checker)).trim();
      const schema = this.schema(propertyType);
      properties[property.name] = described && schema['$ref'] === undefined ? { ...schema, description: described } : schema;
      if (!(property.flags & ts.SymbolFlags.Optional)) required.push(property.name);
    }
    const index = this.checker.getIndexInfosOfType(type)[0];
    return {
      type: 'object',
      properties,
      ...(required.length > 0 ? { required } : {}),
      ...(index ? { additionalProperties: this.schema(index.type) } : {}),
    };
  }
}

/** `Page<ModelView>` → `C.Page<C.ModelView>`: names are looked up among the contracts' exports. */
function qualify(expression: string): string {
  return expression.replace(/\b([A-Z][A-Za-z0-9_]*)/g, 'C.$1');
}
