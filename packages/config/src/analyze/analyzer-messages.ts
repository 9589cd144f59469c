import type { Severity } from '../model/diagnostic.js'

/**
 * Analyzer message types, in the spirit of istioctl's IST codes. Codes are public API: scripts
 * and `weft status` rely on them, so a code is never reused for another meaning.
 */
export const AnalyzerMessage = Object.freeze({
  ReferencedSubsetNotFound: { code: 'WFT0101', severity: 'error' as Severity },
  ReferencedHostNotFound: { code: 'WFT0102', severity: 'warning' as Severity },
  ConflictingVirtualServiceHosts: { code: 'WFT0109', severity: 'error' as Severity },
  NoMatchingWorkloadsFound: { code: 'WFT0127', severity: 'warning' as Severity },
  VirtualServiceUnreachableRule: { code: 'WFT0131', severity: 'warning' as Severity },
  KindNotEnforced: { code: 'WFT0201', severity: 'info' as Severity },
  GatewayOnlyVirtualService: { code: 'WFT0202', severity: 'info' as Severity },
  ConflictingDestinationRuleHosts: { code: 'WFT0203', severity: 'warning' as Severity },
})

export type AnalyzerMessageType = (typeof AnalyzerMessage)[keyof typeof AnalyzerMessage]
