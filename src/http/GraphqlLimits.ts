/**
 * Validation rules that bound what one GraphQL document may ask for, checked before anything
 * runs: a query **depth** limit and a query **cost** limit.
 *
 * - **Depth**: the deepest chain of nested selections of an operation (fragments followed, a
 *   fragment cycle counted once: graphql's own `NoFragmentCyclesRule` refuses it anyway).
 *   `{ payment(id: "…") { amount { amount } } }` has depth 3. Introspection fields (`__schema`,
 *   `__type`, `__typename`) are not counted: their depth is bounded by the schema.
 * - **Cost**: every field costs 1, and a field with a `first` argument (a connection such as
 *   `payments`) multiplies the cost of its selections by `first` (its literal, its variable's
 *   value, or when left out the argument's default; an unreadable value counts as `maxPageSize`).
 *   Aliases do not escape it: each aliased field counts. Each root field of a
 *   mutation costs `mutationCost` more (a mutation may call a gateway).
 *
 * Over a limit the document is refused with one error whose `extensions` are
 * `{ code: "QueryTooDeep" | "QueryTooCostly", status: 400, limit, actual }`, and nothing runs.
 *
 * @since 0.2.0
 */
import {
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  isInterfaceType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode
} from "graphql"

/**
 * The limits (defaults: depth 10, cost 1000, mutation cost 10, page size 100).
 *
 * @since 0.2.0
 */
export interface Options {
  readonly maxDepth?: number | undefined
  readonly maxCost?: number | undefined
  /** What each root field of a mutation costs besides its selections; default 10. */
  readonly mutationCost?: number | undefined
  /** The largest `first` a connection takes (and what an unreadable one counts as); default 100. */
  readonly maxPageSize?: number | undefined
  /** `first` when the query does not say; default 20. */
  readonly defaultPageSize?: number | undefined
}

const isIntrospection = (field: FieldNode): boolean => field.name.value.startsWith("__")

const fragmentsOf = (context: ValidationContext): ReadonlyMap<string, FragmentDefinitionNode> => {
  const out = new Map<string, FragmentDefinitionNode>()
  for (const definition of context.getDocument().definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) out.set(definition.name.value, definition)
  }
  return out
}

/** The fields of a selection set, inline fragments and fragment spreads followed (each spread once per path). */
const fieldsOf = (
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  visiting: ReadonlySet<string>
): ReadonlyArray<{ readonly field: FieldNode; readonly visiting: ReadonlySet<string> }> =>
  selectionSet.selections.flatMap((selection) => {
    switch (selection.kind) {
      case Kind.FIELD:
        return [{ field: selection, visiting }]
      case Kind.INLINE_FRAGMENT:
        return fieldsOf(selection.selectionSet, fragments, visiting)
      case Kind.FRAGMENT_SPREAD: {
        const name = selection.name.value
        const fragment = fragments.get(name)
        if (fragment === undefined || visiting.has(name)) return []
        return fieldsOf(fragment.selectionSet, fragments, new Set([...visiting, name]))
      }
    }
  })

/**
 * The depth of an operation (see the module's documentation).
 *
 * @since 0.2.0
 */
export const depthOf = (
  operation: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>
): number => {
  const depth = (selectionSet: SelectionSetNode, visiting: ReadonlySet<string>): number =>
    fieldsOf(selectionSet, fragments, visiting).reduce(
      (max, { field, visiting }) =>
        isIntrospection(field) ? max : Math.max(max, 1 + (field.selectionSet === undefined ? 0 : depth(field.selectionSet, visiting))),
      0
    )
  return depth(operation.selectionSet, new Set())
}

const intOf = (value: ValueNode, variables: Readonly<Record<string, unknown>>): number | undefined => {
  if (value.kind === Kind.INT) return Number(value.value)
  if (value.kind === Kind.VARIABLE) {
    const given = variables[value.name.value]
    return typeof given === "number" && Number.isInteger(given) ? given : undefined
  }
  return undefined
}

/** The field's definition, when `parent` is an object or interface type that has it. */
const definitionOf = (parent: GraphQLNamedType | undefined, field: FieldNode): GraphQLField<unknown, unknown> | undefined =>
  isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[field.name.value] : undefined

/**
 * The cost of an operation (see the module's documentation): fields are looked up in `schema`
 * so that a connection whose `first` is left out counts with its default.
 *
 * @since 0.2.0
 */
export const costOf = (
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  variables: Readonly<Record<string, unknown>>,
  options: Options = {}
): number => {
  const maxPage = options.maxPageSize ?? 100
  const defaultPage = options.defaultPageSize ?? 20
  const multiplier = (definition: GraphQLField<unknown, unknown> | undefined, field: FieldNode): number => {
    const argument = definition?.args.find((a) => a.name === "first")
    const given = field.arguments?.find((a) => a.name.value === "first")
    if (argument === undefined && given === undefined) return 1
    const fallback = typeof argument?.defaultValue === "number" ? argument.defaultValue : defaultPage
    if (given === undefined) return Math.min(fallback, maxPage)
    const n = intOf(given.value, variables)
    // a variable left out takes the argument's default; anything unreadable counts as the largest page
    if (n === undefined) return given.value.kind === Kind.VARIABLE && !(given.value.name.value in variables) ? Math.min(fallback, maxPage) : maxPage
    return Math.max(1, Math.min(n, maxPage))
  }
  const cost = (selectionSet: SelectionSetNode, parent: GraphQLNamedType | undefined, visiting: ReadonlySet<string>): number =>
    fieldsOf(selectionSet, fragments, visiting).reduce((sum, { field, visiting }) => {
      if (isIntrospection(field)) return sum
      const definition = definitionOf(parent, field)
      const children = field.selectionSet === undefined
        ? 0
        : multiplier(definition, field) *
          cost(field.selectionSet, definition === undefined ? undefined : getNamedType(definition.type), visiting)
      return sum + 1 + children
    }, 0)
  const root = operation.operation === "mutation"
    ? schema.getMutationType()
    : operation.operation === "subscription"
    ? schema.getSubscriptionType()
    : schema.getQueryType()
  const rootCost = operation.operation === "mutation"
    ? fieldsOf(operation.selectionSet, fragments, new Set()).filter(({ field }) => !isIntrospection(field)).length *
      (options.mutationCost ?? 10)
    : 0
  return cost(operation.selectionSet, root ?? undefined, new Set()) + rootCost
}

/**
 * The depth-limit rule.
 *
 * @since 0.2.0
 */
export const depthLimit = (maxDepth: number): ValidationRule => (context: ValidationContext): ASTVisitor => ({
  OperationDefinition(operation) {
    const actual = depthOf(operation, fragmentsOf(context))
    if (actual > maxDepth) {
      context.reportError(
        new GraphQLError(`the query is ${actual} levels deep; at most ${maxDepth} are allowed`, {
          nodes: operation,
          extensions: { code: "QueryTooDeep", status: 400, reason: "query_too_deep", limit: maxDepth, actual }
        })
      )
    }
    return false
  }
})

/**
 * The cost-limit rule, for the request's `variables`.
 *
 * @since 0.2.0
 */
export const costLimit = (
  maxCost: number,
  variables: Readonly<Record<string, unknown>>,
  options: Options = {}
): ValidationRule =>
(context: ValidationContext): ASTVisitor => ({
  OperationDefinition(operation) {
    const actual = costOf(context.getSchema(), operation, fragmentsOf(context), variables, options)
    if (actual > maxCost) {
      context.reportError(
        new GraphQLError(`the query costs ${actual}; at most ${maxCost} is allowed (a connection multiplies by its \`first\`)`, {
          nodes: operation,
          extensions: { code: "QueryTooCostly", status: 400, reason: "query_too_costly", limit: maxCost, actual }
        })
      )
    }
    return false
  }
})

/**
 * Both rules with `options`' limits.
 *
 * @since 0.2.0
 */
export const rules = (options: Options, variables: Readonly<Record<string, unknown>>): ReadonlyArray<ValidationRule> => [
  depthLimit(options.maxDepth ?? 10),
  costLimit(options.maxCost ?? 1000, variables, options)
]
