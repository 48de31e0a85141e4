/**
 * The US equity session calendar in New York time: pre-market 04:00–09:30, regular 09:30–16:00,
 * post-market 16:00–20:00, otherwise closed; weekends and NYSE full-day holidays are closed all day.
 * Wall-clock times are converted with Intl, so daylight-saving changes need no table.
 * Early closes (13:00 on some eves) are not modelled: the simulator treats those days as full days.
 */

export const MARKET_TIME_ZONE = 'America/New_York';

export type Session = 'pre' | 'regular' | 'post' | 'closed';

const PRE_OPEN = 4 * 60;
const REGULAR_OPEN = 9 * 60 + 30;
const REGULAR_CLOSE = 16 * 60;
const POST_CLOSE = 20 * 60;
const DAY_MS = 86_400_000;

const formatter = new Intl.DateTimeFormat('en-US', {
  timeZone: MARKET_TIME_ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallClock(instant: Date): WallClock {
  const parts: Record<string, number> = {};
  for (const part of formatter.formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** New York's offset from UTC at an instant, in ms (negative: behind UTC). */
function offsetMs(instantMs: number): number {
  const w = wallClock(new Date(instantMs));
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(instantMs / 1000) * 1000;
}

/** The trading date (New York calendar date) of an instant, as YYYY-MM-DD. */
export function tradingDateOf(instant: Date): string {
  const w = wallClock(instant);
  return isoDate(w.year, w.month, w.day);
}

/** The instant at which New York's wall clock shows `minutes` past midnight of `date`. */
export function newYorkTime(date: string, minutes: number): Date {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(year, month - 1, day, 0, minutes);
  const first = wall - offsetMs(wall);
  const second = wall - offsetMs(first);
  return new Date(second);
}

function isoDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function addDays(date: string, days: number): string {
  const d = new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS);
  return d.toISOString().slice(0, 10);
}

function weekday(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}

/** The n-th (1-based) given weekday of a month; n = -1 for the last. */
function nthWeekday(year: number, month: number, dayOfWeek: number, n: number): number {
  if (n > 0) {
    const first = weekday(year, month, 1);
    return 1 + ((dayOfWeek - first + 7) % 7) + (n - 1) * 7;
  }
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const last = weekday(year, month, lastDay);
  return lastDay - ((last - dayOfWeek + 7) % 7);
}

/** Anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
function easterSunday(year: number): { month: number; day: number } {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return { month, day };
}

/** A fixed-date holiday moved off the weekend: Saturday to Friday, Sunday to Monday. */
function observed(year: number, month: number, day: number): string {
  const dow = weekday(year, month, day);
  const date = isoDate(year, month, day);
  if (dow === 6) return addDays(date, -1);
  if (dow === 0) return addDays(date, 1);
  return date;
}

const holidayCache = new Map<number, ReadonlySet<string>>();

/** NYSE full-day closures of a year, by the exchange's rules. */
export function nyseHolidays(year: number): ReadonlySet<string> {
  const cached = holidayCache.get(year);
  if (cached) return cached;
  const easter = easterSunday(year);
  const days = new Set<string>([
    // New Year's Day on a Saturday is not observed on the Friday before (NYSE rule 7.2).
    ...(weekday(year, 1, 1) === 6 ? [] : [observed(year, 1, 1)]),
    isoDate(year, 1, nthWeekday(year, 1, 1, 3)), // Martin Luther King Jr. Day
    isoDate(year, 2, nthWeekday(year, 2, 1, 3)), // Washington's Birthday
    addDays(isoDate(year, easter.month, easter.day), -2), // Good Friday
    isoDate(year, 5, nthWeekday(year, 5, 1, -1)), // Memorial Day
    ...(year >= 2022 ? [observed(year, 6, 19)] : []), // Juneteenth
    observed(year, 7, 4),
    isoDate(year, 9, nthWeekday(year, 9, 1, 1)), // Labor Day
    isoDate(year, 11, nthWeekday(year, 11, 4, 4)), // Thanksgiving
    observed(year, 12, 25),
  ]);
  holidayCache.set(year, days);
  return days;
}

export function isTradingDay(date: string): boolean {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const dow = weekday(year, month, day);
  return dow !== 0 && dow !== 6 && !nyseHolidays(year).has(date);
}

/** Minutes past midnight on New York's wall clock at an instant (0–1439). */
export function newYorkMinuteOfDay(instant: Date): number {
  const w = wallClock(instant);
  return w.hour * 60 + w.minute;
}

export function sessionAt(instant: Date): Session {
  const w = wallClock(instant);
  if (!isTradingDay(isoDate(w.year, w.month, w.day))) return 'closed';
  const minutes = w.hour * 60 + w.minute;
  if (minutes < PRE_OPEN) return 'closed';
  if (minutes < REGULAR_OPEN) return 'pre';
  if (minutes < REGULAR_CLOSE) return 'regular';
  if (minutes < POST_CLOSE) return 'post';
  return 'closed';
}

/** The first instant after `instant` at `minutes` past midnight New York time on a trading day. */
function nextTradingTime(instant: Date, minutes: number): Date {
  let date = tradingDateOf(instant);
  // Ten days always reach a trading day (the longest closure is a long weekend plus a holiday).
  for (let i = 0; i < 10; i++, date = addDays(date, 1)) {
    if (!isTradingDay(date)) continue;
    const at = newYorkTime(date, minutes);
    if (at.getTime() > instant.getTime()) return at;
  }
  throw new Error(`no trading day within ten days of ${instant.toISOString()}`);
}

/** Next regular open (09:30 New York) strictly after `instant`. */
export function nextOpen(instant: Date): Date {
  return nextTradingTime(instant, REGULAR_OPEN);
}

/** Next regular close (16:00 New York) strictly after `instant`. */
export function nextClose(instant: Date): Date {
  return nextTradingTime(instant, REGULAR_CLOSE);
}

/** Start of pre-market (04:00 New York) of a trading date. */
export function preMarketOpen(date: string): Date {
  return newYorkTime(date, PRE_OPEN);
}

/**
 * When a day order placed at `instant` expires: the next regular close, or the end of post-market
 * when the order may trade in extended hours. An order placed after the close is for the next day.
 */
export function dayOrderExpiry(instant: Date, extendedHours: boolean): Date {
  return nextTradingTime(instant, extendedHours ? POST_CLOSE : REGULAR_CLOSE);
}

export function canTrade(session: Session, extendedHours: boolean): boolean {
  return session === 'regular' || (extendedHours && (session === 'pre' || session === 'post'));
}
