import { z } from 'zod';

/** traceo.platform.probe.v1 — synthetic event for end-to-end delivery checks and bench/outbox. */
export const probeV1Schema = z.strictObject({
  sequence: z.number().int().nonnegative(),
  producedAt: z.iso.datetime({ offset: true }),
  run: z.string().min(1).max(64),
});

export type ProbeV1 = z.infer<typeof probeV1Schema>;
