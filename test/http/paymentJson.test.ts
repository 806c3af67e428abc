/**
 * The hand-written JSON of a payment (`PaymentJson.encode`, what the payment routes answer) is
 * the schema's encoding (`Schema.encodeSync(PaymentView)`), for any view the schema allows.
 */
import { Arbitrary, FastCheck, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { PaymentView } from "aegispay"
import * as PaymentJson from "../../src/http/PaymentJson.js"

const encodeBySchema = Schema.encodeSync(PaymentView.PaymentView)

describe("PaymentJson.encode", () => {
  it("equals Schema.encode(PaymentView) for every view (property)", () => {
    FastCheck.assert(
      FastCheck.property(Arbitrary.make(PaymentView.PaymentView), (view) => {
        const fast = PaymentJson.encode(view)
        // equal but for optional keys the arbitrary sets to undefined (the schema keeps such a
        // key, the hand-written encoding leaves it out: JSON has no undefined, so the same document)
        expect(fast).toEqual(encodeBySchema(view))
        expect(JSON.parse(JSON.stringify(fast))).toStrictEqual(JSON.parse(JSON.stringify(encodeBySchema(view))))
      }),
      { numRuns: 500 }
    )
  })

  it("writes only the view's own fields (nothing else a value carries leaks)", () => {
    const [view] = FastCheck.sample(Arbitrary.make(PaymentView.PaymentView), 1)
    if (view === undefined) throw new Error("no sample")
    const widened = { ...view, vaultToken: "vt_secret", customer: { ...view.customer, fingerprint: "fp" } }
    expect(JSON.parse(JSON.stringify(PaymentJson.encode(widened)))).toStrictEqual(JSON.parse(JSON.stringify(encodeBySchema(widened))))
    expect(JSON.stringify(PaymentJson.encode(widened))).not.toMatch(/vt_secret|fingerprint/)
  })

  it("answers with the status and headers given", async () => {
    const [view] = FastCheck.sample(Arbitrary.make(PaymentView.PaymentView), 1)
    if (view === undefined) throw new Error("no sample")
    const response = PaymentJson.response(view, 201, { "idempotent-replayed": "true" })
    expect(response.status).toBe(201)
    expect(response.headers["idempotent-replayed"]).toBe("true")
    expect(response.body._tag).toBe("Uint8Array")
    if (response.body._tag === "Uint8Array") {
      expect(JSON.parse(new TextDecoder().decode(response.body.body))).toStrictEqual(JSON.parse(JSON.stringify(encodeBySchema(view))))
    }
  })
})
