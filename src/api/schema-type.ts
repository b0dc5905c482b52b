// The TypeScript type of what a JSON schema accepts, worked out by the compiler from the
// schema's literal type (declared `as const`). The API validates bodies with the schemas and
// the CLI types its requests with these, so the two cannot drift apart.

/** What a value valid under schema `S` is, for the keywords the API's schemas use: type,
 *  enum, items, properties and required. */
export type FromSchema<S> =
  S extends { readonly enum: readonly (infer E)[] } ? E
  : S extends { readonly type: 'string' } ? string
  : S extends { readonly type: 'integer' | 'number' } ? number
  : S extends { readonly type: 'boolean' } ? boolean
  : S extends { readonly type: 'array'; readonly items: infer I } ? FromSchema<I>[]
  : S extends { readonly type: 'object'; readonly properties: infer P } ? ObjectOf<P, S extends { readonly required: readonly (infer R)[] } ? R : never>
  : never;

/** An object with properties `P` (schemas), of which those named in `R` are required. */
export type ObjectOf<P, R> = Flat<
  { -readonly [K in keyof P & R]: FromSchema<P[K]> } &
  { -readonly [K in Exclude<keyof P, R>]?: FromSchema<P[K]> }
>;

/** One object type rather than an intersection, so that errors and hovers read plainly. */
type Flat<T> = { [K in keyof T]: T[K] };
