import { z } from 'zod';
import { decimalOutput, decimalString } from '../../platform/decimal.schemas.ts';

export const CashSchema = z
  .object({
    currency: z.literal('USD'),
    total: decimalOutput('10000.00', 2),
    available: decimalOutput('8125.63', 2),
    held: decimalOutput('1874.37', 2),
  })
  .meta({ id: 'Cash' });

export const AccountSchema = z
  .object({
    accountId: z.string(),
    cash: CashSchema,
    positions: z.array(
      z.object({
        symbol: z.string(),
        quantity: decimalOutput('10', 6),
        available: decimalOutput('10', 6),
        held: decimalOutput('0', 6),
        averageCost: decimalOutput('187.2500', 4),
      }),
    ),
  })
  .meta({ id: 'Account' });

export const CreateAccountBody = z.object({ name: z.string().trim().min(1).max(200) }).strict();
export const CreatedAccountSchema = z
  .object({ accountId: z.string(), apiKey: z.string() })
  .meta({ id: 'CreatedAccount' });

export const AccountIdParams = z.object({ id: z.string().min(1).max(100) });

export const DepositBody = z
  .object({
    amount: decimalString({
      name: 'amount',
      sign: 'positive',
      maxFractionDigits: 2,
      max: '1000000000',
      example: '1000.00',
    }),
    currency: z.literal('USD', { error: 'currency must be "USD"' }),
  })
  .strict();

export const DepositResultSchema = z.object({ accountId: z.string(), cash: CashSchema }).meta({ id: 'DepositResult' });

export const ApiKeyParams = z.object({ id: z.string().min(1).max(100), keyId: z.string().min(1).max(100) });

export const IssuedApiKeySchema = z.object({ keyId: z.string(), apiKey: z.string() }).meta({ id: 'IssuedApiKey' });

export const ApiKeyListSchema = z
  .object({
    keys: z.array(
      z.object({
        keyId: z.string(),
        createdAt: z.string(),
        createdBy: z.string().nullable(),
        revokedAt: z.string().nullable(),
        revokedBy: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'ApiKeyList' });
