{{/*
The chart's name, truncated to 63 characters (a DNS label).
*/}}
{{- define "credrotate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects. The CronJob's name is kept to 52
characters so that the Jobs it creates (name + 11 characters) stay valid.
*/}}
{{- define "credrotate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "credrotate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "credrotate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "credrotate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "credrotate.labels" -}}
helm.sh/chart: {{ include "credrotate.chart" . }}
{{ include "credrotate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: credrotate
{{- end }}

{{- define "credrotate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "credrotate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "credrotate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Where the chart mounts things; the config refers to these paths. */}}
{{- define "credrotate.configDir" -}}/etc/credrotate{{- end }}
{{- define "credrotate.secretsDir" -}}/var/run/credrotate{{- end }}
{{- define "credrotate.appKeyPath" -}}/var/run/credrotate/github/private-key.pem{{- end }}

{{/*
credrotate.yaml as a dict, as JSON for fromJson: .Values.configFile (the
file's text, `--set-file configFile=credrotate.yaml`) when set, else
.Values.config. Text is checked here for the top-level keys that the schema
checks on .Values.config.
*/}}
{{- define "credrotate.configData" -}}
{{- if .Values.configFile }}
{{- $cfg := fromYaml .Values.configFile }}
{{- if hasKey $cfg "Error" }}
{{- fail (printf "configFile is not valid YAML: %s" (get $cfg "Error")) }}
{{- end }}
{{- range $k, $_ := $cfg }}
{{- if not (has $k (list "git" "github" "pullRequest" "notify" "equifax" "providers" "environments")) }}
{{- fail (printf "configFile has the key %q, which credrotate.yaml does not know (git, github, pullRequest, notify, equifax, providers, environments)" $k) }}
{{- end }}
{{- end }}
{{- toJson $cfg }}
{{- else }}
{{- toJson .Values.config }}
{{- end }}
{{- end }}

{{/*
The namespaces and names of the Secrets that providers read through the
Kubernetes API (currentSecret.kubernetes), as a dict namespace -> list of names.
*/}}
{{- define "credrotate.apiSecrets" -}}
{{- $out := dict }}
{{- $cfg := include "credrotate.configData" . | fromJson }}
{{- range $cfg.providers }}
{{- $k := dig "currentSecret" "kubernetes" dict . }}
{{- if $k }}
{{- $ns := default $.Release.Namespace $k.namespace }}
{{- $names := get $out $ns | default list }}
{{- if not (has $k.name $names) }}
{{- $_ := set $out $ns (append $names $k.name | sortAlpha) }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/* Whether the pod gets a service account token. */}}
{{- define "credrotate.automountToken" -}}
{{- if or .Values.serviceAccount.automountToken .Values.rbac.readCurrentSecrets }}true{{ else }}false{{ end }}
{{- end }}

{{/*
Consistency checks between the values and the credrotate.yaml in
.Values.config: a mismatch here would only show at 05:00 on a Wednesday, so
rendering fails now with a message that says what to change.
*/}}
{{- define "credrotate.validate" -}}
{{- if and .Values.activeDeadlineSeconds (le (int .Values.activeDeadlineSeconds) (int .Values.timeoutSeconds)) }}
{{- fail (printf "activeDeadlineSeconds is %d, not above timeoutSeconds %d: Kubernetes would kill the run before its own deadline, leaving its lease behind; leave activeDeadlineSeconds empty (timeoutSeconds + 300) or raise it" (int .Values.activeDeadlineSeconds) (int .Values.timeoutSeconds)) }}
{{- end }}
{{- $secretsDir := include "credrotate.secretsDir" . }}
{{- $mounted := dict }}
{{- range .Values.providers }}
{{- $_ := set $mounted (printf "%s/%s/client_secret" $secretsDir .key) true }}
{{- end }}
{{- $cfg := include "credrotate.configData" . | fromJson }}
{{- range $cfg.providers }}
{{- $file := dig "currentSecret" "file" "" . }}
{{- if and $file (hasPrefix (printf "%s/" $secretsDir) $file) (not (hasKey $mounted $file)) }}
{{- fail (printf "config.providers[key=%s].currentSecret.file is %s, but no entry of .Values.providers mounts it there: add {key: %s, secretName: <the Secret the sealed manifest makes>, secretKey: client_secret} to providers (it mounts at %s/%s/client_secret), or read the secret with currentSecret.kubernetes instead" .key $file .key $secretsDir .key) }}
{{- end }}
{{- end }}
{{- $api := include "credrotate.apiSecrets" . | fromJson }}
{{- if and .Values.rbac.readCurrentSecrets (not $api) }}
{{- fail "rbac.readCurrentSecrets is true, but no provider in config uses currentSecret: {kubernetes: {namespace, name, key}}: set it to false, or switch a provider to the kubernetes source" }}
{{- end }}
{{- if and $api (eq (include "credrotate.automountToken" .) "false") }}
{{- fail "a provider in config reads its current secret through the Kubernetes API (currentSecret.kubernetes), but the pod gets no service account token: set rbac.readCurrentSecrets=true (or serviceAccount.automountToken=true with your own RBAC)" }}
{{- end }}
{{- if not .Values.github.existingSecret }}
{{- fail "github.existingSecret is empty: name the Secret that holds the GitHub token or App private key" }}
{{- end }}
{{- $gh := $cfg.github | default dict }}
{{- $git := $cfg.git | default dict }}
{{- if eq .Values.github.auth "token" }}
{{- if and $gh.tokenEnv (ne $gh.tokenEnv .Values.github.tokenEnv) }}
{{- fail (printf "config.github.tokenEnv is %s, but the chart puts the token in %s: make them equal (github.tokenEnv)" $gh.tokenEnv .Values.github.tokenEnv) }}
{{- end }}
{{- if and $git.tokenEnv (ne $git.tokenEnv .Values.github.tokenEnv) }}
{{- fail (printf "config.git.tokenEnv is %s, but the chart puts the token in %s: make them equal (github.tokenEnv)" $git.tokenEnv .Values.github.tokenEnv) }}
{{- end }}
{{- else }}
{{- $keyFile := dig "app" "privateKeyFile" "" $gh }}
{{- if ne $keyFile (include "credrotate.appKeyPath" .) }}
{{- fail (printf "github.auth is app, so config.github.app.privateKeyFile must be %s (it is %q)" (include "credrotate.appKeyPath" .) $keyFile) }}
{{- end }}
{{- end }}
{{- $notify := $cfg.notify | default dict }}
{{- if .Values.notify.webhook.existingSecret }}
{{- if ne (default "" $notify.webhookURLEnv) .Values.notify.webhook.env }}
{{- fail (printf "notify.webhook.existingSecret is set, so config.notify.webhookURLEnv must be %s" .Values.notify.webhook.env) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The container arguments: args, extraArgs, and the metrics file. */}}
{{- define "credrotate.args" -}}
{{- $args := .Values.args }}
{{- if and $args (eq (first $args) "renew") }}
{{- /* Before extraArgs, so that a --timeout there wins. */}}
{{- $args = concat $args (list "--timeout" (printf "%ds" (int .Values.timeoutSeconds))) }}
{{- end }}
{{- $args = concat $args .Values.extraArgs }}
{{- if .Values.metrics.enabled }}
{{- $args = concat $args (list "--metrics-file" .Values.metrics.path) }}
{{- end }}
{{- toYaml $args }}
{{- end }}

{{/* Environment shared by the CronJob and the chart test. */}}
{{- define "credrotate.env" -}}
- name: HOME
  value: /tmp
- name: TMPDIR
  value: /tmp
{{- if eq .Values.github.auth "token" }}
- name: {{ .Values.github.tokenEnv }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.github.existingSecret }}
      key: {{ .Values.github.tokenKey }}
{{- end }}
{{- if .Values.notify.webhook.existingSecret }}
- name: {{ .Values.notify.webhook.env }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.notify.webhook.existingSecret }}
      key: {{ .Values.notify.webhook.key }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volume mounts shared by the CronJob and the chart test. */}}
{{- define "credrotate.volumeMounts" -}}
- name: config
  mountPath: {{ include "credrotate.configDir" . }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- range $i, $p := .Values.providers }}
- name: current-{{ $i }}
  mountPath: {{ include "credrotate.secretsDir" $ }}/{{ $p.key }}
  readOnly: true
{{- end }}
{{- if eq .Values.github.auth "app" }}
- name: github-app
  mountPath: {{ include "credrotate.appKeyPath" . | dir }}
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes shared by the CronJob and the chart test. */}}
{{- define "credrotate.volumes" -}}
- name: config
  projected:
    defaultMode: 0444
    sources:
      - configMap:
          name: {{ include "credrotate.fullname" . }}
          items:
            - key: credrotate.yaml
              path: credrotate.yaml
      {{- if .Values.sealingCerts }}
      - configMap:
          name: {{ include "credrotate.fullname" . }}-certs
          items:
            {{- range $name, $_ := .Values.sealingCerts }}
            - key: {{ $name }}.pem
              path: certs/{{ $name }}.pem
            {{- end }}
      {{- end }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpDir.sizeLimit }}
{{- range $i, $p := .Values.providers }}
- name: current-{{ $i }}
  secret:
    secretName: {{ $p.secretName }}
    defaultMode: 0440
    optional: {{ $p.optional | default false }}
    items:
      - key: {{ $p.secretKey | default "client_secret" }}
        path: client_secret
{{- end }}
{{- if eq .Values.github.auth "app" }}
- name: github-app
  secret:
    secretName: {{ .Values.github.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.github.appPrivateKeyKey }}
        path: {{ include "credrotate.appKeyPath" . | base }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod-level settings shared by the CronJob and the chart test. */}}
{{- define "credrotate.podCommon" -}}
serviceAccountName: {{ include "credrotate.serviceAccountName" . }}
automountServiceAccountToken: {{ include "credrotate.automountToken" . }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end }}

{{/* The Job's deadline: a little above the run's own (timeoutSeconds). */}}
{{- define "credrotate.activeDeadlineSeconds" -}}
{{- if .Values.activeDeadlineSeconds }}{{ int .Values.activeDeadlineSeconds }}{{ else }}{{ add (int .Values.timeoutSeconds) 300 }}{{ end }}
{{- end }}
