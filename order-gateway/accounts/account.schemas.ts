import { z } from 'zod';
import { decimalString } from '../../platform/decimal.schemas.ts';

export const CashSchema = z.object({
  currency: z.literal('USD'),
  total: z.string(),
  available: z.string(),
  held: z.string(),
});

export const AccountSchema = z
  .object({
    accountId: z.string(),
    cash: CashSchema,
    positions: z.array(
      z.object({
        symbol: z.string(),
        quantity: z.string(),
        available: z.string(),
        held: z.string(),
        averageCost: z.string(),
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
    amount: decimalString({ name: 'amount', sign: 'positive', maxFractionDigits: 2, max: '1000000000' }),
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
