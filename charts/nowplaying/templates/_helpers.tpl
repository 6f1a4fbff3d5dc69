{{/* Names ------------------------------------------------------------------------------------ */}}
{{- define "nowplaying.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "nowplaying.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<component>"; call with (dict "root" $ "component" "gateway") */}}
{{- define "nowplaying.componentName" -}}
{{- printf "%s-%s" (include "nowplaying.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels --------------------------------------------------------------------------------- */}}
{{- define "nowplaying.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nowplaying.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "nowplaying.labels" -}}
{{ include "nowplaying.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: nowplaying
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Images: "repository:tag"; a tag that already holds a digest ("1.0@sha256:…") is kept as is. */}}
{{- define "nowplaying.image" -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}

{{/* Restricted Pod Security --------------------------------------------------------------- */}}
{{- define "nowplaying.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
fsGroup: {{ .fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "nowplaying.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Cassandra contact points and Pushgateway URL ----------------------------------------------- */}}
{{- define "nowplaying.cassandraHosts" -}}
{{- if .Values.cassandra.enabled -}}
{{- include "nowplaying.componentName" (dict "root" . "component" "cassandra") -}}
{{- else -}}
{{- required "cassandra.externalHosts is required when cassandra.enabled is false" .Values.cassandra.externalHosts -}}
{{- end -}}
{{- end -}}

{{/* The keyspace's replication: as given, else NetworkTopologyStrategy with min(3, replicas) in the data centre. */}}
{{- define "nowplaying.cassandraReplication" -}}
{{- $c := .Values.cassandra -}}
{{- if $c.replication -}}
{{- $c.replication -}}
{{- else if $c.enabled -}}
{{- printf "{\"class\": \"NetworkTopologyStrategy\", \"%s\": %d}" $c.datacenter (int (min 3 $c.replicas)) -}}
{{- else -}}
{{- printf "{\"class\": \"NetworkTopologyStrategy\", \"%s\": 3}" $c.externalLocalDc -}}
{{- end -}}
{{- end -}}

{{- define "nowplaying.pushgatewayUrl" -}}
{{- if .Values.metrics.pushgateway.url -}}
{{- .Values.metrics.pushgateway.url -}}
{{- else if .Values.metrics.pushgateway.enabled -}}
{{- printf "http://%s:9091" (include "nowplaying.componentName" (dict "root" . "component" "pushgateway")) -}}
{{- end -}}
{{- end -}}

{{- define "nowplaying.secretName" -}}
{{- default (include "nowplaying.componentName" (dict "root" . "component" "credentials")) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The environment of every Python container: settings from values, API bases in sandbox mode, secrets. */}}
{{- define "nowplaying.env" -}}
{{- $root := .root -}}
- name: CASSANDRA_HOSTS
  value: {{ include "nowplaying.cassandraHosts" $root | quote }}
- name: CASSANDRA_KEYSPACE
  value: {{ $root.Values.cassandra.keyspace | quote }}
- name: CASSANDRA_REPLICATION
  value: {{ include "nowplaying.cassandraReplication" $root | quote }}
- name: CASSANDRA_CONSISTENCY
  value: {{ $root.Values.cassandra.consistency | quote }}
- name: CASSANDRA_LOCAL_DC
  value: {{ (ternary $root.Values.cassandra.datacenter $root.Values.cassandra.externalLocalDc $root.Values.cassandra.enabled) | quote }}
{{- include "nowplaying.lakeEnv" $root }}
{{- with include "nowplaying.pushgatewayUrl" $root }}
- name: PUSHGATEWAY_URL
  value: {{ . | quote }}
{{- end }}
{{- if $root.Values.sandbox.enabled }}
{{- $sb := printf "http://%s:8900" (include "nowplaying.componentName" (dict "root" $root "component" "sandbox")) }}
- name: SOURCES
  value: "x,mastodon,bluesky"
- name: X_API_BASE
  value: {{ printf "%s/x" $sb | quote }}
- name: SPOTIFY_ACCOUNTS_BASE
  value: {{ printf "%s/spotify/accounts" $sb | quote }}
- name: SPOTIFY_API_BASE
  value: {{ printf "%s/spotify/api/v1" $sb | quote }}
- name: RECCOBEATS_BASE
  value: {{ printf "%s/reccobeats" $sb | quote }}
- name: MASTODON_BASE
  value: {{ printf "%s/mastodon" $sb | quote }}
- name: BLUESKY_BASE
  value: {{ printf "%s/bluesky" $sb | quote }}
- name: X_BEARER_TOKEN
  value: sandbox-token
- name: SPOTIFY_CLIENT_ID
  value: sandbox-client
- name: SPOTIFY_CLIENT_SECRET
  value: sandbox-secret
- name: BLUESKY_HANDLE
  value: sandbox.bsky.social
- name: BLUESKY_APP_PASSWORD
  value: sandbox-app-password
{{- else }}
- name: SOURCES
  value: {{ $root.Values.sources | quote }}
{{- range $key := list "X_BEARER_TOKEN" "SPOTIFY_CLIENT_ID" "SPOTIFY_CLIENT_SECRET" "BLUESKY_HANDLE" "BLUESKY_APP_PASSWORD" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ include "nowplaying.secretName" $root }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end }}
- name: CURSOR_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "nowplaying.secretName" $root }}
      key: CURSOR_SECRET
      optional: true
- name: ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "nowplaying.secretName" $root }}
      key: ADMIN_TOKEN
      optional: true
{{- range $key, $value := $root.Values.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- range $key, $value := .extra }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Where the lake is: the PVC mounted at /lake, or S3 (lake.s3) with the keys from a Secret. */}}
{{- define "nowplaying.lakeEnv" -}}
{{- $s3 := .Values.lake.s3 -}}
{{- if $s3.enabled }}
- name: LAKE_URL
  value: {{ printf "s3://%s/%s" (required "lake.s3.bucket is required when lake.s3.enabled is true" $s3.bucket) $s3.prefix | trimSuffix "/" | quote }}
- name: LAKE_S3_REGION
  value: {{ $s3.region | quote }}
{{- with $s3.endpoint }}
- name: LAKE_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with $s3.existingSecret }}
{{- range $key := list "LAKE_S3_ACCESS_KEY_ID" "LAKE_S3_SECRET_ACCESS_KEY" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.lake.s3.existingSecret }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- else }}
- name: LAKE_DIR
  value: /lake
{{- end }}
{{- end -}}

{{/* The volumes every Python pod mounts: the lake and a writable /tmp. */}}
{{- define "nowplaying.lakeClaim" -}}
{{- default (include "nowplaying.componentName" (dict "root" . "component" "lake")) .Values.lake.existingClaim -}}
{{- end -}}

{{/* NetworkPolicy peers */}}
{{- define "nowplaying.npFromRelease" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
      app.kubernetes.io/part-of: nowplaying
{{- end -}}
{{- define "nowplaying.npFromNamespace" -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ . }}
{{- end -}}
