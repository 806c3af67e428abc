/**
 * Fixed label sets for hot metric updates.
 *
 * `Metric.tagged(m, k, v).unsafeUpdate(x, [])` builds a new label array on every update, so the
 * metric's registry hook (cached by the identity of that array) is looked up again each time: the
 * tagged key is built, hashed and compared in the global registry, which costs far more than the
 * update itself. A label set from {@link labelSets} is built once per combination of values and
 * reused, so `m.unsafeUpdate(x, labels)` finds its hook in the metric's own cache. The exported
 * series are exactly those of `Metric.tagged` with the same names and values.
 *
 * @internal
 */
import { MetricLabel } from "effect"

/**
 * The label set of each combination of `names`' values, built on first use and then the same
 * array every time (bounded by the label values callers pass: keep them to bounded sets).
 */
export const labelSets = <const Names extends ReadonlyArray<string>>(...names: Names) => {
  const sets = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  return (...values: { readonly [K in keyof Names]: string }): ReadonlyArray<MetricLabel.MetricLabel> => {
    const key = values.join("\u0000")
    let labels = sets.get(key)
    if (labels === undefined) {
      labels = names.map((name, i) => MetricLabel.make(name, values[i] ?? ""))
      sets.set(key, labels)
    }
    return labels
  }
}
