{{/*
credrotate.seconds turns a threshold from the values into whole seconds: a
number of seconds (259200) or a duration string of weeks, days, hours,
minutes and seconds ("72h", "3d", "1d12h"). The alert expressions compare
timestamps in seconds, and older Prometheus versions take no duration
literal there.
*/}}
{{- define "credrotate.seconds" -}}
{{- $v := . -}}
{{- if kindIs "string" $v -}}
  {{- if regexMatch "^[0-9]+$" $v -}}
    {{- $v -}}
  {{- else if regexMatch "^([0-9]+[wdhms])+$" $v -}}
    {{- $units := dict "w" 604800 "d" 86400 "h" 3600 "m" 60 "s" 1 -}}
    {{- $total := 0 -}}
    {{- range regexFindAll "[0-9]+[wdhms]" $v -1 -}}
      {{- $n := regexFind "^[0-9]+" . | atoi -}}
      {{- $u := regexFind "[wdhms]$" . -}}
      {{- $total = add $total (mul $n (get $units $u)) -}}
    {{- end -}}
    {{- $total -}}
  {{- else -}}
    {{- fail (printf "prometheusRule: %q is not a number of seconds or a duration such as 72h, 3d or 1d12h" $v) -}}
  {{- end -}}
{{- else -}}
  {{- int64 $v -}}
{{- end -}}
{{- end -}}

{{/*
credrotate.prometheusRuleGroups renders files/prometheus-rules.yaml, the
alert rules in Prometheus's rule-file format, with the thresholds from
prometheusRule. The PrometheusRule's spec is exactly this text, and the
chart's tests run promtool on it.
*/}}
{{- define "credrotate.prometheusRuleGroups" -}}
{{- tpl (.Files.Get "files/prometheus-rules.yaml") . -}}
{{- end -}}
