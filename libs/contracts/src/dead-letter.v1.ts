import { z } from 'zod';

/**
 * traceo.platform.dead-letter.v1 — a message a consumer could not process. It carries the original
 * bytes untouched (base64) so nothing is lost, plus the stable error code that explains why.
 */
export const deadLetterV1Schema = z.strictObject({
  errorCode: z.string().min(1).max(128),
  reason: z.string().max(2048),
  consumerGroup: z.string().min(1),
  originalTopic: z.string().min(1),
  originalPartition: z.number().int().nonnegative(),
  originalOffset: z.string().regex(/^[0-9]+$/),
  originalKey: z.string().nullable(),
  originalValueBase64: z.string(),
  originalEventId: z.string().optional(),
  attempts: z.number().int().positive(),
  failedAt: z.iso.datetime({ offset: true }),
});

export type DeadLetterV1 = z.infer<typeof deadLetterV1Schema>;
