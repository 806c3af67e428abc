/**
 * Stripe's form encoding (`application/x-www-form-urlencoded` with bracket paths:
 * `metadata[aegispay_payment_id]=…`, `automatic_payment_methods[enabled]=true`).
 *
 * Written by hand rather than with `UrlParams.fromInput` (which throws on `null` and turns
 * arrays into repeated keys): values are strings, booleans or exact integers (`bigint`), never
 * floats; an `undefined` value leaves the field out; names and values are percent-encoded.
 *
 * @internal
 */

/** One form value: text, a flag, or an exact integer. */
export type FormValue = string | boolean | bigint

/** The fields of a request, in order. */
export type Form = ReadonlyArray<readonly [name: string, value: FormValue | undefined]>

/** `[["metadata", { a: "1" }]]`-style nesting flattened to bracket paths: `metadata[a]=1`. */
export const nested = (prefix: string, values: Readonly<Record<string, FormValue | undefined>>): Form =>
  Object.entries(values).map(([key, value]) => [`${prefix}[${key}]`, value] as const)

/** Encodes `form` as a request body. */
export const encode = (form: Form): string =>
  form
    .flatMap(([name, value]) =>
      value === undefined ? [] : [`${encodeURIComponent(name)}=${encodeURIComponent(typeof value === "string" ? value : String(value))}`]
    )
    .join("&")

/**
 * Decodes a body made by {@link encode} (or by any form encoder) into its fields, in order: for
 * fakes and tests.
 */
export const decode = (body: string): ReadonlyArray<readonly [string, string]> =>
  [...new URLSearchParams(body).entries()]
