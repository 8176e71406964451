// Type declarations for the JS API of progress-client.js (DESIGN §8), for host apps that embed
// the learning-progress client. Put this file beside the progress-client.js you import (or map
// that import to it) and TypeScript checks your calls against the client:
//
//   import { createProgressClient } from './progress-client.js'
//   const client = await createProgressClient({ apiBaseUrl: '/api/v1' })
//
// The runtime is progress-client.js itself; this file only describes it. e2e/ compares the
// members declared here with those of the real client in Chromium.

// --------------------------------------------------------------------------- the snapshot

/** An item's status; an event never lowers it: not_started < in_progress < completed < passed. */
export type ContentStatus = 'not_started' | 'in_progress' | 'completed' | 'passed'

/** The state of a quiz interaction: the option the learner chose, if any. */
export interface QuizState {
  /** The kind of interaction (quizzes are the only kind). */
  kind: 'quiz'
  /** The chosen option's id, or null when none is chosen. */
  selectedOptionId: string | null
}

/** One item's progress (a lesson or a quiz), keyed by its contentId in the snapshot. */
export interface LearningContentProgress {
  /** How far the learner got; never lowered by a later event. */
  status: ContentStatus
  /** The best score seen (0 to 100), or null when no event carried one. */
  score: number | null
  /** The content version of the latest event that carried one, or null. */
  contentVersion: string | null
  /** When the learner first touched the item (since the last reset), UTC `...T..:..:..sssZ`. */
  firstAttemptAt: string
  /** When the learner last touched the item, UTC `...T..:..:..sssZ`. */
  lastAttemptAt: string
  /** When the item first reached completed or passed, or null. */
  completedAt: string | null
  /** The item's interactions (a quiz's chosen option) keyed by interactionId. */
  interactions: Record<string, QuizState>
}

/** The onboarding: whether it is done and which path the learner chose. */
export interface OnboardingState {
  /** True once the learner completed the onboarding (and did not reset it since). */
  completed: boolean
  /** The path chosen at the onboarding, or null. */
  pathId: string | null
  /** When the onboarding was completed, or null. */
  completedAt: string | null
}

/** Days on which some item reached completed or passed (UTC calendar days). */
export interface StreakState {
  /** Consecutive days up to `lastActivityDate` (whether it is still alive today is the UI's question). */
  current: number
  /** The longest run of consecutive days. */
  longest: number
  /** The last day that counted, `YYYY-MM-DD`, or null. */
  lastActivityDate: string | null
}

/** The snapshot the UI shows (`client.snapshot`): a pure function of the learner's events. */
export interface LearningGuestProgress {
  /** The snapshot's format version. */
  version: 1
  /** Progress per item, keyed by contentId; an item without an entry is not started. */
  content: Record<string, LearningContentProgress>
  /** The onboarding's state. */
  onboarding: OnboardingState
  /** The path the learner follows, or null. */
  activePathId: string | null
  /** The learning streak. */
  streak: StreakState
  /** The latest event's time over the whole log, or null for an empty log. */
  lastUpdated: string | null
}

// --------------------------------------------------------------------------- the status

/**
 * What the status shows: `local` (saved on this device; a guest is always local unless storage
 * is full), `syncing`, `synced`, `offline`, `error` (a failed sync or full storage; see
 * `errorCode`) or `session_expired` (sign in again).
 */
export type SyncState = 'synced' | 'local' | 'syncing' | 'error' | 'offline' | 'session_expired'

/**
 * What an error is, for the page to put in words: `network` (no answer), `storage_full` (the
 * browser refuses writes), `client_error`, or the server's error code (`invalid_credentials`,
 * `rate_limited`, `quota_exceeded`, `internal_error`, ...).
 */
export type ProgressErrorCode =
  | 'network'
  | 'storage_full'
  | 'client_error'
  | 'invalid_credentials'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'internal_error'
  | (string & {})

/** The sync status (`client.status`): a new object on every change, never mutated. */
export interface ProgressStatus {
  /** The state to show. */
  state: SyncState
  /** How many of the signed-in user's events have not reached the server yet (0 for a guest). */
  pending: number
  /** When the last sync succeeded (UTC timestamp), or null. */
  lastSuccessfulSyncAt: string | null
  /** A readable message of the last failure, or null. */
  errorMessage: string | null
  /** What the error is: `storage_full` while storage refuses writes, else while the state is `error` the last failed sync's code; null otherwise. */
  errorCode: ProgressErrorCode | null
  /** The HTTP status of that failure, or null (`network`, `storage_full`, no error). */
  errorStatus: number | null
  /** A warning about local storage (e.g. full: nothing is lost, saving resumes once space is freed), or null. */
  storageWarning: string | null
  /** The signed-in user's id, or null for a guest. */
  userId: string | null
}

// --------------------------------------------------------------------------- writing

/** A quiz interaction to set (`state`) or to remove (`state: null`, e.g. a retry). */
export interface InteractionUpdate {
  /** The interaction's id within the item. */
  interactionId: string
  /** The new state, or null to remove the interaction. */
  state: { kind?: 'quiz'; selectedOptionId: string | null } | null
}

/** The argument of `recordProgress`: one `content.progressed` event. */
export interface RecordProgressInput {
  /** The item's id (a non-empty string of at most 128 characters). */
  contentId: string
  /** The status the learner reached (a lower one than the item has does not lower it). */
  status: ContentStatus
  /** A score from 0 to 100 (kept if it is the best so far). */
  score?: number | null
  /** The version of the content the learner saw. */
  contentVersion?: string | null
  /** A quiz interaction to set or remove. */
  interaction?: InteractionUpdate | null
}

/** The argument of `signIn`. */
export interface SignInCredentials {
  /** The account's email. */
  email: string
  /** The account's password. */
  password: string
}

/**
 * What `signIn` rejects with when the login fails: an Error whose fields say why, for the page
 * to word (check `error.name === 'SignInError'`).
 */
export interface SignInError extends Error {
  name: 'SignInError'
  /** The server's error code (`invalid_credentials`, `rate_limited`, ...), or `network` without an answer. */
  code: ProgressErrorCode
  /** The HTTP status, or null without an answer. */
  status: number | null
  /** How long the server asks to wait before trying again (ms), or null. */
  retryAfterMs: number | null
}

/** What `createProgressClient` rejects with when Pyodide, a wheel or the stored log fails to load. */
export interface ProgressClientLoadError extends Error {
  name: 'ProgressClientLoadError'
}

// --------------------------------------------------------------------------- the client

/** Called with the new snapshot and status on every change. */
export type ProgressListener = (snapshot: LearningGuestProgress, status: ProgressStatus) => void

/** Stops a subscription. */
export type Unsubscribe = () => void

/** The options of `createProgressClient`. */
export interface ProgressClientOptions {
  /** The API's base URL (default `/api/v1`); login is `{apiBaseUrl}/auth/login`. */
  apiBaseUrl?: string
  /**
   * Supplies tokens from the host app's own sign-in (DESIGN §8): a JWT whose `sub` names the
   * learner, or null when no one is signed in there. Called at start, on `signIn()` with no
   * arguments, and once more after a 401 before the status becomes `session_expired`. The
   * session is then the host's (not stored by the client); another learner's token is a switch
   * of user, null a sign-out.
   */
  getToken?: (() => Promise<string | null>) | null
  /**
   * Download and compile the runtime at once, but start Python (a long main-thread task) only
   * once this promise settles, e.g. after the page's first paint; a restore from the memory
   * snapshot, in short steps, does not wait for it.
   */
  startAfter?: Promise<unknown> | null
  /**
   * How long a restore from the build's memory snapshot may take, once its files are here and
   * the runtime is compiled, before the client starts the normal way instead (default 10 000 ms).
   * A restore does not wait for `startAfter`: its steps are short.
   */
  snapshotTimeoutMs?: number
  /**
   * How long a file of the memory snapshot (its download, or its read from the service worker's
   * precache) may go with nothing of it, nor of the snapshot's other files, arriving before the
   * client gives it up and starts the normal way instead (default 10 000 ms). A slow download
   * that keeps arriving goes on. Infinity, a negative number or 2^31 ms or more: no limit.
   */
  snapshotStallMs?: number
  /**
   * How long the memory snapshot's heap may still take to download once the runtime is ready
   * (compiled, its standard library here) before the client gives it up and starts the normal
   * way instead (default 2 000 ms, about what the normal way takes longer than a restore on a
   * busy machine): at once when the rate it has come at says it will not be here by then, as
   * on a first visit on a slow line. Not a read from the service worker's precache. Infinity, a
   * negative number or 2^31 ms or more: no limit.
   */
  snapshotLateMs?: number
  /**
   * How long the memory snapshot's heap may take to download, at the rate its body comes
   * (judged every half second from its answer on), before the client gives it up and starts
   * the normal way instead (default 15 000 ms): on a line too slow for it, the normal way is
   * quicker, and the heap is given up before it takes much of the line from the runtime. Not a
   * read from the service worker's precache. Infinity, a negative number or 2^31 ms or more:
   * no limit.
   */
  snapshotLineMs?: number
}

/** The client `createProgressClient` resolves with (also `window.progressClient` on the page). */
export interface ProgressClient {
  /** The API base URL it was created with. */
  readonly apiBaseUrl: string
  /** This browser profile's stable clientId (written into every event). */
  readonly clientId: string
  /** The current snapshot, as a plain object (replaced, never mutated, on a change). */
  readonly snapshot: LearningGuestProgress
  /** The current sync status. */
  readonly status: ProgressStatus
  /** Calls `listener(snapshot, status)` on every change; returns the function that stops it. */
  subscribe(listener: ProgressListener): Unsubscribe
  /** Records an item's progress; returns the new eventId. Throws a TypeError on an invalid argument. */
  recordProgress(progress: RecordProgressInput): string
  /** Completes the onboarding with the chosen path; returns the eventId. */
  completeOnboarding(pathId: string): string
  /** Undoes the onboarding (it shows again); returns the eventId. */
  resetOnboarding(): string
  /** Sets the active path (null clears it); returns the eventId. */
  setActivePath(pathId: string | null): string
  /** Clears content, onboarding, active path and streak (no event is deleted); returns the eventId. */
  resetProgress(): string
  /**
   * Signs in (POST `{apiBaseUrl}/auth/login`), keeps the session (a reload stays signed in),
   * merges the guest's progress and syncs; resolves with the status. A failed login rejects
   * with a {@link SignInError}; any other failure with an Error. With `getToken`, call it with
   * no arguments: the client asks the host for a token and becomes the learner it names.
   */
  signIn(credentials?: SignInCredentials): Promise<ProgressStatus>
  /** Back to the guest's progress on this device (the user's stays stored); resolves with the status. */
  signOut(): Promise<ProgressStatus>
  /** Syncs now (also retries events held by a permanent error); resolves with the status. */
  sync(): Promise<ProgressStatus>
  /**
   * Resolves with the status once the whole stored history has been read and reduced again in
   * the background after ready (the snapshot is then that reduction's).
   */
  historyVerified(): Promise<ProgressStatus>
  /** Stops the client's timers and listeners (page teardown, tests). */
  close(): void
}

// --------------------------------------------------------------------------- the module

/**
 * Boots Pyodide and the client from this build (nothing from elsewhere) and resolves once the
 * snapshot is ready (the signed-in user's when a session is stored). Rejects with a
 * {@link ProgressClientLoadError} (also shown on the page) when anything fails to load.
 */
export function createProgressClient(options?: ProgressClientOptions): Promise<ProgressClient>

/** A fresh empty snapshot. */
export function emptySnapshot(): LearningGuestProgress

/** The cached snapshot of whoever is signed in (the guest otherwise) without starting Python, or null. */
export function readCachedSnapshot(storage?: Pick<Storage, 'getItem'>): LearningGuestProgress | null

/** The signed-in user's id from the stored session, or null (guest). */
export function readSessionUserId(storage?: Pick<Storage, 'getItem'>): string | null

/** The localStorage keys of the guest's data (a signed-in user's add `:{userId}`) and of the session. */
export const STORAGE_KEYS: Readonly<{
  /** The guest's event log. */
  events: string
  /** The guest's cached snapshot. */
  snapshot: string
  /** This profile's clientId. */
  clientId: string
  /** The stored session. */
  session: string
}>

/** The format version of a stored snapshot (`{"v": STORAGE_FORMAT, "snapshot": ...}`). */
export const STORAGE_FORMAT: number
