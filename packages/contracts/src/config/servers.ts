import { z } from 'zod'

export const Flavour = z.enum(['single', 'flexible', 'citus', 'self-hosted'])
export type Flavour = z.infer<typeof Flavour>

/** What connrca knows about a server beyond its logs; steps and texts adapt to it. */
export const ServerInfo = z.object({
  name: z.string().min(1),
  flavour: Flavour.default('self-hosted'),
  /** Azure region, e.g. `West Europe`; selects the Single Server gateway addresses. */
  region: z.string().optional(),
})
export type ServerInfo = z.infer<typeof ServerInfo>
