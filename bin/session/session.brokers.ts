import type { BrokerClient, StatementKind, Statements } from '../../broker-adapter/index.ts';
import { dec, formatCash, formatQuantity } from '../../platform/index.ts';
import type { SimulatedBroker } from '../system.ts';

/** One of the system's simulated brokers, as the session drives them. */
export type SessionBroker = SimulatedBroker;

/**
 * Every broker's statements as one broker's: orders and executions side by side (each order is at one
 * broker), positions and cash summed (our books are one, each broker's per account at that broker).
 */
export function mergedStatements(brokers: readonly SessionBroker[]): Pick<BrokerClient, 'getStatement'> {
  return {
    async getStatement<K extends StatementKind>(kind: K, date: string): Promise<Statements[K]> {
      const each = await Promise.all(brokers.map((b) => b.client.getStatement(kind, date)));
      return merge(kind, date, each) as Statements[K];
    },
  };
}

function merge(
  kind: StatementKind,
  date: string,
  each: readonly Statements[StatementKind][],
): Statements[StatementKind] {
  switch (kind) {
    case 'orders':
      return { date, orders: (each as Statements['orders'][]).flatMap((s) => s.orders) };
    case 'executions':
      return { date, executions: (each as Statements['executions'][]).flatMap((s) => s.executions) };
    case 'positions': {
      const sums = new Map<string, ReturnType<typeof dec>>();
      for (const s of each as Statements['positions'][])
        for (const p of s.positions) sums.set(p.symbol, (sums.get(p.symbol) ?? dec('0')).plus(p.quantity));
      return { date, positions: [...sums].map(([symbol, q]) => ({ symbol, quantity: formatQuantity(q) })) };
    }
    case 'cash': {
      const cash = each as Statements['cash'][];
      const sum = (field: 'balance' | 'bought' | 'sold') =>
        formatCash(cash.reduce((total, s) => total.plus(s[field]), dec('0')));
      return { date, currency: 'USD', balance: sum('balance'), bought: sum('bought'), sold: sum('sold') };
    }
  }
}
