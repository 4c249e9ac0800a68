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
{{- define "credrotate.managementDir" -}}/var/run/credrotate/management{{- end }}

{{/*
The top-level keys credrotate.yaml may have (pkg/config): the schema checks
them on .Values.config, credrotate.configData on .Values.configFile.
*/}}
{{- define "credrotate.configKeys" -}}
{{- list "git" "github" "pullRequest" "notify" "rotation" "schedule" "equifax" "entra" "okta" "gcp" "providers" "environments" | toJson }}
{{- end }}

{{/*
.Values.config as YAML, with `schedule` set from .Values.schedule when it has
none (credrotate checks the grace period against the schedule it runs on).
A policy key set in the older spelling config.equifax.<key> (values files
written before rotation: existed) wins over the chart's default
config.rotation.<key>, which is dropped: otherwise the two would disagree.
*/}}
{{- define "credrotate.configYaml" -}}
{{- $cfg := deepCopy .Values.config }}
{{- if not (hasKey $cfg "schedule") }}
{{- $_ := set $cfg "schedule" .Values.schedule }}
{{- end }}
{{- $eq := $cfg.equifax | default dict }}
{{- $rot := $cfg.rotation | default dict }}
{{- range list "enableClientSecretRenewal" "renewBefore" "gracePeriod" "revokeAfter" "criticalBefore" "concurrency" "timeout" }}
{{- if hasKey $eq . }}
{{- $_ := unset $rot . }}
{{- end }}
{{- end }}
{{- if and (hasKey $cfg "rotation") (not $rot) }}
{{- $_ := unset $cfg "rotation" }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

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
{{- $keys := include "credrotate.configKeys" . | fromJsonArray }}
{{- range $k, $_ := $cfg }}
{{- if not (has $k $keys) }}
{{- fail (printf "configFile has the key %q, which credrotate.yaml does not know (%s)" $k (join ", " $keys)) }}
{{- end }}
{{- end }}
{{- toJson $cfg }}
{{- else }}
{{- include "credrotate.configYaml" . | fromYaml | toJson }}
{{- end }}
{{- end }}

{{/*
The secret sources of the management identities in config, as a dict
config key -> source ({file}, {env} or {kubernetes}).
*/}}
{{- define "credrotate.managementSources" -}}
{{- $cfg := include "credrotate.configData" . | fromJson }}
{{- $out := dict }}
{{- with dig "entra" "management" "clientSecret" dict $cfg }}
{{- $_ := set $out "entra.management.clientSecret" . }}
{{- end }}
{{- with dig "okta" "management" "apiToken" dict $cfg }}
{{- $_ := set $out "okta.management.apiToken" . }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/*
The files of the management identities that config names, as a dict config
key -> path.
*/}}
{{- define "credrotate.managementFiles" -}}
{{- $cfg := include "credrotate.configData" . | fromJson }}
{{- $out := dict }}
{{- range $k, $src := include "credrotate.managementSources" . | fromJson }}
{{- with $src.file }}
{{- $_ := set $out (printf "%s.file" $k) . }}
{{- end }}
{{- end }}
{{- with dig "entra" "management" "federatedTokenFile" "" $cfg }}
{{- $_ := set $out "entra.management.federatedTokenFile" . }}
{{- end }}
{{- with dig "okta" "management" "serviceApp" "privateKeyFile" "" $cfg }}
{{- $_ := set $out "okta.management.serviceApp.privateKeyFile" . }}
{{- end }}
{{- with dig "gcp" "credentialsFile" "" $cfg }}
{{- $_ := set $out "gcp.credentialsFile" . }}
{{- end }}
{{- range $i, $e := (dig "environments" list $cfg) }}
{{- with dig "sops" "ageKeyFile" "" $e }}
{{- $_ := set $out (printf "environments[%d].sops.ageKeyFile" $i) . }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/* The names of managementSecrets, each once, in the order first listed. */}}
{{- define "credrotate.managementNames" -}}
{{- $names := list }}
{{- range .Values.managementSecrets }}
{{- if not (has .name $names) }}
{{- $names = append $names .name }}
{{- end }}
{{- end }}
{{- toJson $names }}
{{- end }}

{{/*
The namespaces and names of the Secrets that credrotate reads through the
Kubernetes API (a provider's currentSecret.kubernetes, a management
identity's clientSecret or apiToken {kubernetes: ...}), as a dict namespace ->
list of names.
*/}}
{{- define "credrotate.apiSecrets" -}}
{{- $out := dict }}
{{- $cfg := include "credrotate.configData" . | fromJson }}
{{- $srcs := list }}
{{- range $cfg.providers }}
{{- $srcs = append $srcs (dig "currentSecret" dict .) }}
{{- end }}
{{- range $_, $src := include "credrotate.managementSources" . | fromJson }}
{{- $srcs = append $srcs $src }}
{{- end }}
{{- range $srcs }}
{{- $k := dig "kubernetes" dict . }}
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
{{- if has .key (list "github" "management" "metrics") }}
{{- fail (printf "providers[key=%s]: the key would mount at %s/%s, which the chart uses itself: give the provider another key" .key $secretsDir .key) }}
{{- end }}
{{- $_ := set $mounted (printf "%s/%s/client_secret" $secretsDir .key) true }}
{{- end }}
{{- $cfg := include "credrotate.configData" . | fromJson }}
{{- range $cfg.providers }}
{{- $file := dig "currentSecret" "file" "" . }}
{{- if and $file (hasPrefix (printf "%s/" $secretsDir) $file) (not (hasKey $mounted $file)) }}
{{- fail (printf "config.providers[key=%s].currentSecret.file is %s, but no entry of .Values.providers mounts it there: add {key: %s, secretName: <the Secret the sealed manifest makes>, secretKey: client_secret} to providers (it mounts at %s/%s/client_secret), or read the secret with currentSecret.kubernetes instead" .key $file .key $secretsDir .key) }}
{{- end }}
{{- end }}
{{- $mgmtDir := include "credrotate.managementDir" . }}
{{- $mgmt := dict }}
{{- range .Values.managementSecrets }}
{{- $path := printf "%s/%s/%s" $mgmtDir .name .key }}
{{- if hasKey $mgmt $path }}
{{- fail (printf "managementSecrets lists name %s with key %s twice: both would mount at %s" .name .key $path) }}
{{- end }}
{{- $_ := set $mgmt $path true }}
{{- end }}
{{- range $k, $file := include "credrotate.managementFiles" . | fromJson }}
{{- if and (hasPrefix (printf "%s/" $mgmtDir) $file) (not (hasKey $mgmt $file)) }}
{{- $parts := splitList "/" (trimPrefix (printf "%s/" $mgmtDir) $file) }}
{{- if eq (len $parts) 2 }}
{{- fail (printf "config.%s is %s, but no entry of managementSecrets mounts it there: add {name: %s, secretName: <the Secret that holds it>, key: %s} to managementSecrets" $k $file (index $parts 0) (index $parts 1)) }}
{{- else }}
{{- fail (printf "config.%s is %s, which managementSecrets cannot mount: its files are %s/<name>/<key>" $k $file $mgmtDir) }}
{{- end }}
{{- end }}
{{- end }}
{{- $envs := list }}
{{- if eq .Values.github.auth "token" }}{{ $envs = append $envs .Values.github.tokenEnv }}{{ end }}
{{- if .Values.notify.webhook.existingSecret }}{{ $envs = append $envs .Values.notify.webhook.env }}{{ end }}
{{- range .Values.extraEnv }}{{ $envs = append $envs .name }}{{ end }}
{{- range $k, $src := include "credrotate.managementSources" . | fromJson }}
{{- if and $src.env (not (has $src.env $envs)) }}
{{- fail (printf "config.%s is {env: %s}, but the pod has no variable %s: add it to extraEnv with valueFrom.secretKeyRef, or mount the Secret with managementSecrets and use {file: %s/<name>/<key>}" $k $src.env $src.env $mgmtDir) }}
{{- end }}
{{- end }}
{{- if and $cfg.schedule (ne (toString $cfg.schedule) (toString .Values.schedule)) }}
{{- fail (printf "config.schedule is %q, but the CronJob runs on schedule %q: make them equal, or leave config.schedule out (the chart sets it)" $cfg.schedule .Values.schedule) }}
{{- end }}
{{- $api := include "credrotate.apiSecrets" . | fromJson }}
{{- if and .Values.rbac.readCurrentSecrets (not $api) }}
{{- fail "rbac.readCurrentSecrets is true, but no provider in config uses currentSecret: {kubernetes: {namespace, name, key}} (nor does a management identity's secret): set it to false, or switch a provider to the kubernetes source" }}
{{- end }}
{{- if and $api (eq (include "credrotate.automountToken" .) "false") }}
{{- fail "a provider (or a management identity) in config reads its secret through the Kubernetes API ({kubernetes: ...}), but the pod gets no service account token: set rbac.readCurrentSecrets=true (or serviceAccount.automountToken=true with your own RBAC)" }}
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
{{- range $i, $name := include "credrotate.managementNames" . | fromJsonArray }}
- name: management-{{ $i }}
  mountPath: {{ include "credrotate.managementDir" $ }}/{{ $name }}
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
{{- range $i, $name := include "credrotate.managementNames" . | fromJsonArray }}
- name: management-{{ $i }}
  projected:
    defaultMode: 0440
    sources:
      {{- range $.Values.managementSecrets }}
      {{- if eq .name $name }}
      - secret:
          name: {{ .secretName }}
          optional: {{ .optional | default false }}
          items:
            - key: {{ .key | quote }}
              path: {{ .key | quote }}
      {{- end }}
      {{- end }}
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
