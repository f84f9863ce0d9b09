/**
 * The demo's SLA policy file (contract 6.1): two office calendars in different zones with
 * their public holidays, an enterprise policy around the clock, pauses while waiting on the
 * customer. `kpi seed-demo` writes it next to the demo database (sla_policy.yml); the demo
 * source uses it when KPI_SLA_POLICY_FILE is not set (settings.ts).
 */
export const DEMO_POLICY_YAML = `# SLA policies of the demo data (written by \`kpi seed-demo\`; edit freely, then run
# \`kpi policy check\` to see what the pipeline understands). See the README, "SLA policies".
version: 1
calendars:
  amer-office:
    timezone: America/New_York
    hours:
      mon-fri: "08:00-18:00"
    holidays: [2026-01-01, 2026-05-25, 2026-07-03, 2026-09-07, 2026-11-26, 2026-12-25,
               2027-01-01, 2027-05-31, 2027-07-05, 2027-09-06, 2027-11-25, 2027-12-24]
  emea-office:
    timezone: Europe/London
    hours:
      mon-thu: "08:00-12:30, 13:30-18:00"
      fri: "08:00-16:00"
    holidays: [2026-01-01, 2026-04-03, 2026-04-06, 2026-05-04, 2026-05-25, 2026-08-31, 2026-12-25, 2026-12-28,
               2027-01-01, 2027-03-26, 2027-03-29, 2027-05-03, 2027-05-31, 2027-08-30, 2027-12-27, 2027-12-28]
risk_stages: [50, 75, 90]
policies:
  - name: enterprise
    when: { customer_tier: [enterprise] }
    calendar: 24x7
    targets:
      P1: { first_response: 15m, resolution: 4h }
      P2: { first_response: 1h, resolution: 8h }
      P3: { first_response: 4h, resolution: 24h }
      P4: { first_response: 8h, resolution: 48h }
  - name: amer-standard
    when: { region: [AMER] }
    calendar: amer-office
    pause_on: [pending, "awaiting*", on_hold]
    targets:
      P1: { first_response: 30m, resolution: 4h }
      P2: { first_response: 1h, resolution: 6h }
      P3: { first_response: 2h, resolution: 9h }
      P4: { first_response: 4h, resolution: 18h }
  - name: emea-apac-standard
    calendar: emea-office
    pause_on: [pending, "awaiting*", on_hold]
    targets:
      P1: { first_response: 30m, resolution: 4h }
      P2: { first_response: 1h, resolution: 6h }
      P3: { first_response: 2h, resolution: 9h }
      P4: { first_response: 4h, resolution: 18h }
`;
