import type { PoolClient } from '../../platform/index.ts';
import { submitMessageOf, type OrderTerms } from '../orders/order-request.schemas.ts';
import type { UnsentSubmits } from '../orders/order.service.ts';
import { advance, newSubmission } from './submission.machine.ts';
import { submissionRepository } from './submission.repository.ts';

type LockedSubmit = Awaited<ReturnType<typeof submissionRepository.lockSubmitOf>>;

/**
 * The submits a cancel may still stop, given to the order service at the composition root: the order
 * service sits upstream of the request server and does not import it.
 */
export const unsentSubmits: UnsentSubmits<LockedSubmit> = {
  lock: (tx, orderId) => submissionRepository.lockSubmitOf(tx, orderId),
  abandon: abandonUnsentSubmit,
};

/**
 * Abandons the order's submit if it never went to the broker (not stored yet, or `queued`), under
 * the submit's row lock, which the dispatcher's claim also takes: either the dispatcher sent it
 * first, or it is never sent. True when abandoned.
 */
async function abandonUnsentSubmit(tx: PoolClient, order: OrderTerms, locked: LockedSubmit): Promise<boolean> {
  const reason = 'canceled before it reached the broker';
  let submit = locked;
  if (!submit) {
    // Its request is still on its way to the request server: store it abandoned, so it arrives to
    // nothing. If the request server stored it meanwhile, the insert does nothing and it is read below.
    const abandoned = advance(newSubmission(), { type: 'Abandon', reason });
    await submissionRepository.insertAbandonedSubmit(tx, submitMessageOf(order), abandoned);
    submit = await submissionRepository.lockSubmitOf(tx, order.id);
  }
  if (submit?.state === 'abandoned') return true;
  if (submit?.state !== 'queued') return false;
  const abandoned = advance(submit.snapshot, { type: 'Abandon', reason });
  const saved = await submissionRepository.save(
    tx,
    { order_id: order.id, kind: 'submit' },
    submit.version,
    abandoned,
    0,
  );
  return saved !== null;
}
