// A host app embedding the learning-progress client, written against web/progress-client.d.ts.
// It uses every member the declarations have; the `Each<...>` lists at the end name each
// member exactly once, so a member declared but not listed here (or listed but not declared)
// fails `tsc --noEmit -p examples/types` (tests/web/test_types.py).
//
// A host app imports progress-client.js from where the page is served and puts
// progress-client.d.ts beside its import (here: the two files in web/).

import * as progressApi from '../../web/progress-client.js'
import {
  createProgressClient,
  emptySnapshot,
  readCachedSnapshot,
  readSessionUserId,
  STORAGE_FORMAT,
  STORAGE_KEYS,
  type ContentStatus,
  type InteractionUpdate,
  type LearningContentProgress,
  type LearningGuestProgress,
  type OnboardingState,
  type ProgressClient,
  type ProgressClientLoadError,
  type ProgressClientOptions,
  type ProgressErrorCode,
  type ProgressListener,
  type ProgressStatus,
  type QuizState,
  type RecordProgressInput,
  type SignInCredentials,
  type SignInError,
  type StreakState,
  type SyncState,
  type Unsubscribe,
} from '../../web/progress-client.js'

// --------------------------------------------------------------------------- reading

const STATUS_TEXT: Record<SyncState, string> = {
  synced: 'Synced',
  local: 'Saved on this device',
  syncing: 'Syncing…',
  error: 'Sync error',
  offline: 'Offline',
  session_expired: 'Sign in again',
}

function describeStatus(status: ProgressStatus): string {
  const parts = [STATUS_TEXT[status.state]]
  if (status.pending > 0) parts.push(`${status.pending} waiting`)
  if (status.lastSuccessfulSyncAt !== null) parts.push(`last sync ${status.lastSuccessfulSyncAt}`)
  if (status.errorMessage !== null) parts.push(status.errorMessage)
  const code: ProgressErrorCode | null = status.errorCode
  if (code === 'storage_full') parts.push('free some space in this browser')
  else if (code !== null) parts.push(`(${code}${status.errorStatus !== null ? ` ${status.errorStatus}` : ''})`)
  if (status.storageWarning !== null) parts.push(status.storageWarning)
  parts.push(status.userId === null ? 'guest' : `user ${status.userId}`)
  return parts.join(' · ')
}

function isDone(status: ContentStatus): boolean {
  return status === 'completed' || status === 'passed'
}

function describeItem(contentId: string, item: LearningContentProgress): string {
  const quiz: QuizState | undefined = item.interactions['q1']
  const chosen = quiz && quiz.kind === 'quiz' ? quiz.selectedOptionId : null
  return [
    contentId,
    item.status,
    isDone(item.status) ? `done at ${item.completedAt ?? '?'}` : 'not done',
    item.score === null ? 'no score' : `best score ${item.score.toFixed(0)}`,
    item.contentVersion ?? 'any version',
    `${item.firstAttemptAt} – ${item.lastAttemptAt}`,
    chosen === null ? 'no answer' : `answer ${chosen}`,
  ].join(', ')
}

function describeSnapshot(snapshot: LearningGuestProgress): string[] {
  const version: 1 = snapshot.version
  const onboarding: OnboardingState = snapshot.onboarding
  const streak: StreakState = snapshot.streak
  return [
    `snapshot v${version}, updated ${snapshot.lastUpdated ?? 'never'}`,
    onboarding.completed
      ? `onboarded on ${onboarding.completedAt ?? '?'} with ${onboarding.pathId ?? 'no path'}`
      : 'onboarding to do',
    `following ${snapshot.activePathId ?? 'no path'}`,
    `streak ${streak.current} (longest ${streak.longest}, last ${streak.lastActivityDate ?? 'never'})`,
    ...Object.entries(snapshot.content).map(([id, item]) => describeItem(id, item)),
  ]
}

// --------------------------------------------------------------------------- errors

function isSignInError(error: unknown): error is SignInError {
  return error instanceof Error && error.name === 'SignInError'
}

function isLoadError(error: unknown): error is ProgressClientLoadError {
  return error instanceof Error && error.name === 'ProgressClientLoadError'
}

function signInMessage(error: SignInError): string {
  switch (error.code) {
    case 'invalid_credentials':
      return 'Wrong email or password.'
    case 'rate_limited':
      return error.retryAfterMs === null
        ? 'Too many attempts: try again later.'
        : `Too many attempts: try again in ${Math.ceil(error.retryAfterMs / 1000)} s.`
    case 'network':
      return 'No connection.'
    default:
      return `Sign-in failed (${error.code}${error.status === null ? '' : `, HTTP ${error.status}`}): ${error.message}`
  }
}

// --------------------------------------------------------------------------- the host app

export async function embed(firstPaint: Promise<void>, log: (line: string) => void): Promise<ProgressClient | null> {
  // Before Python starts: what the device holds, to paint at once.
  const cached: LearningGuestProgress = readCachedSnapshot() ?? emptySnapshot()
  const signedIn: string | null = readSessionUserId(window.localStorage)
  log(`${signedIn ?? 'guest'} on this device: ${describeSnapshot(cached).join('; ')}`)
  const eventsKey: string = signedIn === null ? STORAGE_KEYS.events : `${STORAGE_KEYS.events}:${signedIn}`
  log(`stored under ${eventsKey}, ${STORAGE_KEYS.snapshot}, ${STORAGE_KEYS.clientId}, ${STORAGE_KEYS.session}`)
  log(`snapshot format ${STORAGE_FORMAT.toFixed(0)}`)

  const options: ProgressClientOptions = {
    apiBaseUrl: '/api/v1',
    getToken: async () => window.sessionStorage.getItem('host-app-token'),
    startAfter: firstPaint,
  }
  let client: ProgressClient
  try {
    client = await createProgressClient(options)
  } catch (error) {
    log(isLoadError(error) ? `could not start: ${error.message}` : String(error))
    return null
  }

  const apiBaseUrl: string = client.apiBaseUrl
  const clientId: string = client.clientId
  log(`client ${clientId} against ${apiBaseUrl}: ${describeStatus(client.status)}`)
  describeSnapshot(client.snapshot).forEach(log)

  const listener: ProgressListener = (snapshot, status) => {
    log(describeStatus(status))
    describeSnapshot(snapshot).forEach(log)
  }
  const stop: Unsubscribe = client.subscribe(listener)

  const onboarded: string = client.completeOnboarding('thinking-clearly')
  const followed: string = client.setActivePath('thinking-clearly')
  const answer: InteractionUpdate = { interactionId: 'q1', state: { kind: 'quiz', selectedOptionId: 'b' } }
  const progress: RecordProgressInput = {
    contentId: 'quiz-base-rates',
    status: 'passed',
    score: 100,
    contentVersion: '2',
    interaction: answer,
  }
  const recorded: string = client.recordProgress(progress)
  const retried: string = client.recordProgress({
    contentId: 'quiz-base-rates',
    status: 'in_progress',
    interaction: { interactionId: 'q1', state: null },
  })
  try {
    client.recordProgress({ contentId: '', status: 'completed' })
  } catch (error) {
    log(error instanceof TypeError ? `refused: ${error.message}` : String(error))
  }
  log(`events ${[onboarded, followed, recorded, retried].join(', ')}`)

  const credentials: SignInCredentials = { email: 'demo@example.com', password: 'demo-password' }
  try {
    const status: ProgressStatus = await client.signIn(credentials)
    log(`signed in as ${status.userId ?? '?'}`)
  } catch (error) {
    log(isSignInError(error) ? signInMessage(error) : `sign-in failed: ${String(error)}`)
  }
  // With getToken (as created above), signIn() takes no credentials: the host's token decides.
  log(describeStatus(await client.signIn()))
  log(describeStatus(await client.sync()))
  log(describeStatus(await client.historyVerified()))
  log(describeStatus(await client.signOut()))

  const reopened: string = client.resetOnboarding()
  const cleared: string = client.setActivePath(null)
  const reset: string = client.resetProgress()
  log(`events ${[reopened, cleared, reset].join(', ')}`)

  stop()
  return client
}

export function teardown(client: ProgressClient): void {
  client.close()
}

// --------------------------------------------------------------------------- every member, once

/** Every member of T, each named exactly once (a missing or unknown name is a type error). */
type Each<T> = { readonly [K in keyof T]-?: true }

export const MODULE_EXPORTS: Each<typeof progressApi> = {
  createProgressClient: true,
  emptySnapshot: true,
  readCachedSnapshot: true,
  readSessionUserId: true,
  STORAGE_FORMAT: true,
  STORAGE_KEYS: true,
}

export const CLIENT_MEMBERS: Each<ProgressClient> = {
  apiBaseUrl: true,
  clientId: true,
  snapshot: true,
  status: true,
  subscribe: true,
  recordProgress: true,
  completeOnboarding: true,
  resetOnboarding: true,
  setActivePath: true,
  resetProgress: true,
  signIn: true,
  signOut: true,
  sync: true,
  historyVerified: true,
  close: true,
}

export const OPTIONS: Each<ProgressClientOptions> = { apiBaseUrl: true, getToken: true, startAfter: true, snapshotTimeoutMs: true, snapshotStallMs: true, snapshotLateMs: true, snapshotLineMs: true }

export const STATUS_FIELDS: Each<ProgressStatus> = {
  state: true,
  pending: true,
  lastSuccessfulSyncAt: true,
  errorMessage: true,
  errorCode: true,
  errorStatus: true,
  storageWarning: true,
  userId: true,
}

export const SNAPSHOT_FIELDS: Each<LearningGuestProgress> = {
  version: true,
  content: true,
  onboarding: true,
  activePathId: true,
  streak: true,
  lastUpdated: true,
}

export const CONTENT_FIELDS: Each<LearningContentProgress> = {
  status: true,
  score: true,
  contentVersion: true,
  firstAttemptAt: true,
  lastAttemptAt: true,
  completedAt: true,
  interactions: true,
}

export const RECORD_FIELDS: Each<RecordProgressInput> = {
  contentId: true,
  status: true,
  score: true,
  contentVersion: true,
  interaction: true,
}

export const SIGN_IN_ERROR_FIELDS: Each<Omit<SignInError, keyof Error>> & { name: true; message: true } = {
  name: true,
  message: true,
  code: true,
  status: true,
  retryAfterMs: true,
}
