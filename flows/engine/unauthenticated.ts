/**
 * The one answer to a webhook that did not prove who sent it — an unknown store, a wrong
 * secret or signature, an unknown payment method alike — so a stranger learns nothing
 * about which stores exist. Every channel's and every flow's webhook answers with it.
 *
 * ```ts
 * if (!verified) return reply.code(UNAUTHENTICATED.status).send(UNAUTHENTICATED.body);
 * ```
 */
export const UNAUTHENTICATED = { status: 401, body: { error: "unauthorized" } } as const;
