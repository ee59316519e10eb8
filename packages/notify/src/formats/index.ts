import type { NotifyFormat } from '@connrca/contracts'
import type { z } from 'zod'
import {
  AlertmanagerApiPayload,
  AlertmanagerPayload,
  alertmanagerApiDigest,
  alertmanagerApiIncidents,
  alertmanagerDigest,
  alertmanagerIncidents,
} from './alertmanager.js'
import { GenericPayload, genericDigest, genericIncidents } from './generic.js'
import { SlackPayload, slackDigest, slackIncidents } from './slack.js'
import { TeamsPayload, teamsDigest, teamsIncidents } from './teams.js'
import type { View } from './view.js'

export * from './alertmanager.js'
export * from './generic.js'
export * from './slack.js'
export * from './teams.js'
export * from './view.js'

/** The zod schema every payload of a format satisfies (tests validate generated payloads against these). */
export const PAYLOAD_SCHEMAS: Record<NotifyFormat, z.ZodType> = {
  generic: GenericPayload,
  alertmanager: AlertmanagerPayload,
  'alertmanager-api': AlertmanagerApiPayload,
  slack: SlackPayload,
  teams: TeamsPayload,
}

/** Shapes a view for one format; the result is the request body. */
export function renderPayload(format: NotifyFormat, view: View): unknown {
  if (view.kind === 'digest') {
    switch (format) {
      case 'generic':
        return genericDigest(view)
      case 'alertmanager':
        return alertmanagerDigest(view)
      case 'alertmanager-api':
        return alertmanagerApiDigest(view)
      case 'slack':
        return slackDigest(view)
      case 'teams':
        return teamsDigest(view)
    }
  }
  switch (format) {
    case 'generic':
      return genericIncidents(view)
    case 'alertmanager':
      return alertmanagerIncidents(view)
    case 'alertmanager-api':
      return alertmanagerApiIncidents(view)
    case 'slack':
      return slackIncidents(view)
    case 'teams':
      return teamsIncidents(view)
  }
}
