{{/*
The alert and recording rules (Prometheus rule-file format: `groups:`). The tests render this, run
`promtool check rules` on it and evaluate every expression against a real Prometheus.
Stage metrics are pushed once per run; the counters are cumulative across runs (each push adds the
group's previous values, nowplaying.common.cumulative), and the nowplaying_stage_last_run_* gauges hold
the figures of each stage's last run.
*/}}
{{- define "nowplaying.ruleGroups" -}}
{{- $r := .Values.metrics.prometheusRule -}}
{{- $stages := dict -}}
{{- range $name := list "extract" "clean" "enrich" "load" -}}
{{- $c := index $.Values.components $name -}}
{{- if $c.enabled -}}{{- $_ := set $stages $name (int $c.expectedIntervalSeconds) -}}{{- end -}}
{{- end -}}
{{- if .Values.spark.enabled -}}{{- $_ := set $stages "aggregate" (int .Values.spark.expectedIntervalSeconds) -}}{{- end -}}
groups:
  - name: nowplaying.recording
    rules:
      - record: nowplaying:stage_error_ratio:last_run
        expr: |
          max by (stage) (nowplaying_stage_last_run_errors)
            / clamp_min(max by (stage) (nowplaying_stage_last_run_items{direction="in"}), 1)
      - record: nowplaying:enrich_match_ratio:1h
        expr: |
          sum(increase(nowplaying_matches_total[1h])) / clamp_min(sum(increase(nowplaying_enrich_posts_total[1h])), 1)
      - record: nowplaying:x_budget_used_ratio:day
        expr: |
          max(nowplaying_x_posts_spent_today) / clamp_min(max(nowplaying_x_budget_posts{period="day"}), 1)
  - name: nowplaying.stages
    rules:
      {{- range $stage, $interval := $stages }}
      {{- $limit := mul $interval (int $r.missedSchedules) }}
      - alert: NowplayingStageNoRecentSuccess
        expr: |
          time() - max by (stage) (nowplaying_stage_last_success_timestamp_seconds{stage="{{ $stage }}"}) > {{ $limit }}
        for: 5m
        labels:
          severity: warning
          stage: {{ $stage }}
        annotations:
          summary: "Stage {{ $stage }} has not succeeded for {{ $r.missedSchedules }} schedules"
          description: "The last successful {{ $stage }} run was {{ "{{" }} $value | humanizeDuration {{ "}}" }} ago (limit {{ $limit }}s)."
      - alert: NowplayingStageFailing
        # the last run is newer than the last success (or the stage never succeeded)
        expr: |
          (
            max by (stage) (nowplaying_stage_last_run_timestamp_seconds{stage="{{ $stage }}"})
            - on (stage) (
                max by (stage) (nowplaying_stage_last_success_timestamp_seconds{stage="{{ $stage }}"})
                or max by (stage) (nowplaying_stage_last_run_timestamp_seconds{stage="{{ $stage }}"}) * 0
              )
          ) > 1
        for: {{ $limit }}s
        labels:
          severity: warning
          stage: {{ $stage }}
        annotations:
          summary: "Stage {{ $stage }} keeps failing"
          description: "The last {{ $stage }} runs failed for more than {{ $r.missedSchedules }} schedules."
      - alert: NowplayingStageNeverRan
        expr: |
          absent(nowplaying_stage_last_run_timestamp_seconds{stage="{{ $stage }}"})
        for: {{ $limit }}s
        labels:
          severity: warning
          stage: {{ $stage }}
        annotations:
          summary: "Stage {{ $stage }} has reported no run"
          description: "No {{ $stage }} run has pushed metrics for {{ $r.missedSchedules }} schedules: is its CronJob running?"
      {{- end }}
      - alert: NowplayingStageHighErrorRatio
        expr: |
          nowplaying:stage_error_ratio:last_run > {{ $r.errorRatio }}
        for: 10m
        labels:
          severity: warning
        annotations:
          summary: "Stage {{ "{{" }} $labels.stage {{ "}}" }} fails on many items"
          description: "{{ "{{" }} $value | humanizePercentage {{ "}}" }} of the items of the last {{ "{{" }} $labels.stage {{ "}}" }} run failed."
  - name: nowplaying.sources
    rules:
      - alert: NowplayingXBudgetNearlySpent
        expr: |
          nowplaying:x_budget_used_ratio:day > {{ $r.xBudgetRatio }}
        labels:
          severity: info
        annotations:
          summary: "The X post budget for today is nearly spent"
          description: "{{ "{{" }} $value | humanizePercentage {{ "}}" }} of today's X posts budget (X_MAX_POSTS_PER_DAY) is used."
      - alert: NowplayingMatchRateDrop
        expr: |
          nowplaying:enrich_match_ratio:1h
            < {{ $r.matchRateDrop }} * avg_over_time(nowplaying:enrich_match_ratio:1h[7d])
          and on () sum(increase(nowplaying_enrich_posts_total[1h])) >= 20
        for: 30m
        labels:
          severity: warning
        annotations:
          summary: "The share of posts matched to a track dropped"
          description: "Only {{ "{{" }} $value | humanizePercentage {{ "}}" }} of the posts enriched in the last hour matched, well under the 7-day average."
  - name: nowplaying.gateway
    rules:
      - alert: NowplayingGatewayHighErrorRatio
        expr: |
          (sum(rate(nowplaying_http_requests_total{status=~"5.."}[5m])) or vector(0))
            / clamp_min(sum(rate(nowplaying_http_requests_total[5m])), 1e-9) > 0.05
          and on () sum(rate(nowplaying_http_requests_total[5m])) > 0.1
        for: 10m
        labels:
          severity: warning
        annotations:
          summary: "The gateway answers many requests with 5xx"
          description: "{{ "{{" }} $value | humanizePercentage {{ "}}" }} of the gateway's requests failed in the last 5 minutes."
{{- end -}}
