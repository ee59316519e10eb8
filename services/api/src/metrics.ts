/** Request counters and latency sums per route, in Prometheus text format. */
export class ApiMetrics {
  private readonly requests = new Map<string, number>()
  private readonly seconds = new Map<string, { sum: number; count: number }>()

  observe(route: string, status: number, seconds: number): void {
    const k = `route="${route}",status="${status}"`
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1)
    const s = this.seconds.get(route) ?? { sum: 0, count: 0 }
    s.sum += seconds
    s.count++
    this.seconds.set(route, s)
  }

  render(): string {
    const out = [
      '# HELP connrca_api_requests_total HTTP requests answered by the api, by route and status.',
      '# TYPE connrca_api_requests_total counter',
    ]
    for (const [k, v] of this.requests) out.push(`connrca_api_requests_total{${k}} ${v}`)
    out.push(
      '# HELP connrca_api_request_duration_seconds Time to answer, by route.',
      '# TYPE connrca_api_request_duration_seconds summary',
    )
    for (const [route, s] of this.seconds) {
      out.push(`connrca_api_request_duration_seconds_sum{route="${route}"} ${s.sum}`)
      out.push(`connrca_api_request_duration_seconds_count{route="${route}"} ${s.count}`)
    }
    return `${out.join('\n')}\n`
  }
}
