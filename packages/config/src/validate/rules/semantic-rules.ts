import type { Resource } from '../../model/resource.js'
import { destinationRuleRules } from './destination-rule-rules.js'
import { rateLimitPolicyRules } from './rate-limit-policy-rules.js'
import type { RuleContext } from './rule-context.js'
import {
  authorizationPolicyRules,
  peerAuthenticationRules,
  requestAuthenticationRules,
} from './security-rules.js'
import { serviceEntryRules, workloadEntryRules } from './service-entry-rules.js'
import { telemetryRules } from './telemetry-rules.js'
import { virtualServiceRules } from './virtual-service-rules.js'

// biome-ignore lint/suspicious/noExplicitAny: each entry takes its own kind's spec, which the schema has already checked
type Rules = (spec: any, ctx: RuleContext, resource: Resource) => void

/** Istio's semantic checks, by kind: run once a resource has passed its schema. */
export const semanticRules: Readonly<Record<string, Rules>> = {
  VirtualService: virtualServiceRules,
  DestinationRule: destinationRuleRules,
  ServiceEntry: serviceEntryRules,
  WorkloadEntry: workloadEntryRules,
  AuthorizationPolicy: authorizationPolicyRules,
  RequestAuthentication: requestAuthenticationRules,
  PeerAuthentication: peerAuthenticationRules,
  Telemetry: telemetryRules,
  RateLimitPolicy: rateLimitPolicyRules,
}
