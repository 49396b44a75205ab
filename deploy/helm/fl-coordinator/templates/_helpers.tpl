{{/*
The chart's name, or nameOverride.
*/}}
{{- define "fl-coordinator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of the release's objects: fullnameOverride, else the release name when it already
contains the chart's name, else "<release>-<chart>". Truncated to 63 characters (DNS labels);
the StatefulSet's pod name appends "-0", so keep release names short.
*/}}
{{- define "fl-coordinator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"<chart>-<version>", for the helm.sh/chart label.
*/}}
{{- define "fl-coordinator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The labels every object carries.
*/}}
{{- define "fl-coordinator.labels" -}}
helm.sh/chart: {{ include "fl-coordinator.chart" . }}
{{ include "fl-coordinator.selectorLabels" . }}
app.kubernetes.io/version: {{ include "fl-coordinator.imageTag" . | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/component: coordinator
app.kubernetes.io/part-of: federated-learning
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The labels that select the coordinator's pod. They never change across upgrades: a
StatefulSet's selector is immutable.
*/}}
{{- define "fl-coordinator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fl-coordinator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The image tag: image.tag, else the chart's appVersion.
*/}}
{{- define "fl-coordinator.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "fl-coordinator.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "fl-coordinator.imageTag" .) }}
{{- end }}

{{/*
The Secret that holds coordinator.key: the chart's own when transportKey.secretKeyJson is
given, else transportKey.existingSecret.
*/}}
{{- define "fl-coordinator.keySecretName" -}}
{{- if .Values.transportKey.secretKeyJson }}
{{- printf "%s-key" (include "fl-coordinator.fullname" .) }}
{{- else if .Values.transportKey.existingSecret }}
{{- .Values.transportKey.existingSecret }}
{{- else }}
{{- fail "the coordinator's transport key is required: set transportKey.existingSecret (a Secret with the key coordinator.key) or transportKey.secretKeyJson" }}
{{- end }}
{{- end }}

{{/*
The ConfigMap that holds the roster when it is not given inline (roster.json): it is then
required.
*/}}
{{- define "fl-coordinator.rosterConfigMapName" -}}
{{- if .Values.roster.existingConfigMap }}
{{- .Values.roster.existingConfigMap }}
{{- else }}
{{- fail "the roster is required: set roster.existingConfigMap (a ConfigMap with the key roster.json) or roster.json" }}
{{- end }}
{{- end }}

{{/*
Paths inside the pod. The chart sets the coordinator config's listen, state_dir,
http_listen, roster and transport from these; values.schema.json refuses them in config.
*/}}
{{- define "fl-coordinator.stateDir" -}}/var/lib/fl/state{{- end }}
{{- define "fl-coordinator.rosterPath" -}}/etc/fl/roster/roster.json{{- end }}
{{- define "fl-coordinator.keyPath" -}}/run/fl/keys/coordinator.key{{- end }}

{{/*
The coordinator's config: values' config with the chart's own keys on top.
*/}}
{{- define "fl-coordinator.config" -}}
{{- $c := deepCopy .Values.config }}
{{- if and (hasKey $c "min_workers") (hasKey $c "max_workers") }}
{{- if gt (float64 $c.min_workers) (float64 $c.max_workers) }}
{{- fail (printf "config.min_workers (%v) must not exceed config.max_workers (%v)" $c.min_workers $c.max_workers) }}
{{- end }}
{{- end }}
{{- $_ := set $c "listen" (printf "tcp://0.0.0.0:%v" .Values.port) }}
{{- $_ = set $c "http_listen" (printf "0.0.0.0:%v" .Values.metricsPort) }}
{{- $_ = set $c "state_dir" (include "fl-coordinator.stateDir" .) }}
{{- $_ = set $c "roster" (include "fl-coordinator.rosterPath" .) }}
{{- $_ = set $c "transport" (dict "security" "curve" "secret_key" (include "fl-coordinator.keyPath" .)) }}
{{- toPrettyJson $c }}
{{- end }}

{{/*
The restricted Pod Security profile's container settings.
*/}}
{{- define "fl-coordinator.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}
