// Checks the objects `helm template` rendered from deploy/helm/fl-coordinator:
//   node validate_k8s.mjs --modules DIR --chart CHART_DIR --manifest RENDERED.yaml [--values FILE]...
// DIR holds node_modules with kubernetes-models and yaml (tests/deploy/package.json); the
// values files are the ones given to helm, in the same order, so the expectations (ports,
// address ranges, config, optional objects) follow what was rendered.
//
// Every object must validate against the Kubernetes API schemas of kubernetes-models and
// carry the app.kubernetes.io labels; the pod must meet the restricted Pod Security
// profile; the coordinator config must be the values' config plus the keys the chart
// sets, pointing at the paths the pod really mounts. Exit status 0 when everything holds,
// 1 with one line per failure otherwise.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";

function parseArgs(argv) {
  const args = { values: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag}: missing value`);
    if (flag === "--modules") args.modules = value;
    else if (flag === "--chart") args.chart = value;
    else if (flag === "--manifest") args.manifest = value;
    else if (flag === "--values") args.values.push(value);
    else throw new Error(`unknown flag ${flag}`);
  }
  for (const k of ["modules", "chart", "manifest"]) if (!args[k]) throw new Error(`--${k} is required`);
  return args;
}

const args = parseArgs(process.argv.slice(2));
const require = createRequire(path.join(path.resolve(args.modules), "package.json"));
const YAML = require("yaml");

const failures = [];
function check(ok, message) {
  if (!ok) failures.push(message);
  return ok;
}

// Kubernetes reads manifests as YAML 1.1 (0400 is octal).
const parseYaml = (text) => YAML.parse(text, { version: "1.1" });
const isMap = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// Helm's coalescing: maps merge key by key, anything else replaces.
function merge(base, over) {
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k], v) : v;
  return out;
}

let values = parseYaml(readFileSync(path.join(args.chart, "values.yaml"), "utf8"));
for (const file of args.values) values = merge(values, parseYaml(readFileSync(file, "utf8")) ?? {});

const objects = YAML.parseAllDocuments(readFileSync(args.manifest, "utf8"), { version: "1.1" })
  .map((doc) => {
    if (doc.errors.length) throw new Error(`${args.manifest}: ${doc.errors[0].message}`);
    return doc.toJS();
  })
  .filter((o) => o !== null && o !== undefined);

const describe = (o) => `${o.kind}/${o.metadata?.name}`;
const ofKind = (kind) => objects.filter((o) => o.kind === kind);

// --- Kubernetes API schemas ------------------------------------------------------------
function modelPath(o) {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : [null, o.apiVersion];
  return group ? `kubernetes-models/${group}/${version}/${o.kind}` : `kubernetes-models/${version}/${o.kind}`;
}

function checkServiceMonitorShape(o) {
  const where = describe(o);
  check(o.apiVersion === "monitoring.coreos.com/v1", `${where}: apiVersion ${o.apiVersion}`);
  check(isMap(o.spec?.selector?.matchLabels), `${where}: spec.selector.matchLabels missing`);
  const endpoints = o.spec?.endpoints;
  if (!check(Array.isArray(endpoints) && endpoints.length > 0, `${where}: no spec.endpoints`)) return;
  for (const e of endpoints) {
    check(typeof e.port === "string" && e.port.length > 0, `${where}: endpoint without a port name`);
    check(e.path === undefined || e.path.startsWith("/"), `${where}: endpoint path ${e.path}`);
    for (const k of ["interval", "scrapeTimeout"]) {
      check(e[k] === undefined || /^([0-9]+(ms|s|m|h))+$/.test(e[k]), `${where}: ${k} ${e[k]} is not a duration`);
    }
  }
}

for (const o of objects) {
  if (!check(o.apiVersion && o.kind && o.metadata?.name, `an object without apiVersion, kind or name`)) continue;
  if (o.kind === "ServiceMonitor") {
    checkServiceMonitorShape(o);
    continue;
  }
  let Model;
  try {
    Model = require(modelPath(o))[o.kind];
  } catch {
    check(false, `${describe(o)}: ${o.apiVersion} ${o.kind} is not a Kubernetes API kind`);
    continue;
  }
  try {
    new Model(o).validate();
  } catch (e) {
    check(false, `${describe(o)}: ${e.message}`);
  }
}

// --- Labels -------------------------------------------------------------------------------
for (const o of objects) {
  const labels = o.metadata.labels ?? {};
  for (const k of ["name", "instance", "managed-by", "version"]) {
    check(labels[`app.kubernetes.io/${k}`], `${describe(o)}: no app.kubernetes.io/${k} label`);
  }
  check(labels["app.kubernetes.io/managed-by"] === "Helm", `${describe(o)}: managed-by is not Helm`);
  check(labels["helm.sh/chart"], `${describe(o)}: no helm.sh/chart label`);
}
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

// --- Which objects ------------------------------------------------------------------------
const expectedKinds = ["ConfigMap", "Service", "Service", "StatefulSet"];
if (values.networkPolicy.enabled) expectedKinds.push("NetworkPolicy");
if (values.transportKey.secretKeyJson) expectedKinds.push("Secret");
if (values.monitoring.serviceMonitor.enabled) expectedKinds.push("ServiceMonitor");
const kinds = objects.map((o) => o.kind).sort();
check(isDeepStrictEqual(kinds, expectedKinds.sort()), `objects ${kinds.join(", ")}; expected ${expectedKinds.join(", ")}`);

const sts = ofKind("StatefulSet")[0];
if (!sts) {
  console.error("FAIL: no StatefulSet");
  process.exit(1);
}
const pod = sts.spec.template.spec;
const podLabels = sts.spec.template.metadata.labels;
const coordinator = pod.containers.find((c) => c.name === "coordinator");
if (!coordinator) {
  console.error("FAIL: no container named coordinator");
  process.exit(1);
}
const allContainers = [...(pod.initContainers ?? []), ...pod.containers];
const volume = (name) => pod.volumes.find((v) => v.name === name);
const containerPort = (c, name) => c.ports?.find((p) => p.name === name)?.containerPort;

// --- StatefulSet --------------------------------------------------------------------------
check(sts.spec.replicas === values.replicas && sts.spec.replicas <= 1, `StatefulSet: replicas ${sts.spec.replicas}`);
check(matches(sts.spec.selector.matchLabels, podLabels), "StatefulSet: the selector does not match the pod's labels");
check(!("app.kubernetes.io/version" in sts.spec.selector.matchLabels), "StatefulSet: the selector holds the version");
for (const t of sts.spec.volumeClaimTemplates ?? []) {
  const labels = Object.keys(t.metadata.labels ?? {});
  check(labels.every((k) => k in sts.spec.selector.matchLabels),
    `StatefulSet: volumeClaimTemplate ${t.metadata.name} carries labels that change between releases`);
}
check(pod.automountServiceAccountToken === false, "pod: the service account token is mounted");

// --- The restricted Pod Security profile --------------------------------------------------
const podSc = pod.securityContext ?? {};
check(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC, "pod: uses a host namespace");
check(podSc.runAsNonRoot === true, "pod: securityContext.runAsNonRoot is not true");
check(podSc.runAsUser !== 0, "pod: runs as root");
check(podSc.seccompProfile?.type === "RuntimeDefault", "pod: seccompProfile is not RuntimeDefault");
const allowedVolumeTypes = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
for (const v of pod.volumes) {
  const type = Object.keys(v).find((k) => k !== "name");
  check(allowedVolumeTypes.includes(type), `pod: volume ${v.name} is a ${type} volume`);
}
for (const c of allContainers) {
  const sc = c.securityContext ?? {};
  const where = `container ${c.name}`;
  check(sc.allowPrivilegeEscalation === false, `${where}: allowPrivilegeEscalation is not false`);
  check(sc.privileged !== true, `${where}: privileged`);
  check(sc.capabilities?.drop?.includes("ALL"), `${where}: does not drop ALL capabilities`);
  check(!(sc.capabilities?.add ?? []).length, `${where}: adds capabilities`);
  check(sc.readOnlyRootFilesystem === true, `${where}: the root file system is writable`);
  check((sc.runAsNonRoot ?? podSc.runAsNonRoot) === true, `${where}: runAsNonRoot is not true`);
  check((sc.runAsUser ?? podSc.runAsUser) !== 0, `${where}: runs as root`);
  check((sc.seccompProfile ?? podSc.seccompProfile)?.type === "RuntimeDefault", `${where}: seccompProfile`);
  check(!(c.ports ?? []).some((p) => p.hostPort), `${where}: uses a host port`);
}

// --- Ports and probes ---------------------------------------------------------------------
check(containerPort(coordinator, "zmq") === values.port, `coordinator: zmq port ${containerPort(coordinator, "zmq")}`);
check(containerPort(coordinator, "http") === values.metricsPort, `coordinator: http port ${containerPort(coordinator, "http")}`);
for (const [probe, wanted] of [["startupProbe", "/healthz"], ["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]]) {
  const get = coordinator[probe]?.httpGet;
  if (!check(get, `coordinator: ${probe} is not an httpGet probe`)) continue;
  check(get.path === wanted, `coordinator: ${probe} path ${get.path}, expected ${wanted}`);
  check(get.port === "http" || get.port === values.metricsPort, `coordinator: ${probe} port ${get.port}`);
}

// --- Files in the pod ---------------------------------------------------------------------
// Where does `file` come from in container c: { volume, rel } or undefined.
function mountOf(c, file) {
  const mounts = [...(c.volumeMounts ?? [])].sort((a, b) => b.mountPath.length - a.mountPath.length);
  const m = mounts.find((m) => file.startsWith(m.mountPath.replace(/\/$/, "") + "/"));
  return m && { mount: m, volume: volume(m.name), rel: file.slice(m.mountPath.replace(/\/$/, "").length + 1) };
}
// The ConfigMap name and key a projected or configMap volume serves at `rel`.
function configMapSource(v, rel) {
  const sources = v.projected ? v.projected.sources.filter((s) => s.configMap).map((s) => s.configMap) : v.configMap ? [v.configMap] : [];
  for (const s of sources) {
    const item = (s.items ?? []).find((i) => i.path === rel);
    if (item) return { name: s.name, key: item.key };
    if (!s.items && !rel.includes("/")) return { name: s.name, key: rel };
  }
  return undefined;
}

const configArg = (coordinator.args ?? []).indexOf("--config");
const configPath = configArg >= 0 ? coordinator.args[configArg + 1] : undefined;
check(configPath, "coordinator: no --config argument");
const configSrc = configPath && mountOf(coordinator, configPath);
const configCm = configSrc && configMapSource(configSrc.volume, configSrc.rel);
const configMap = configCm && ofKind("ConfigMap").find((o) => o.metadata.name === configCm.name);
let config;
if (check(configMap?.data?.[configCm.key], `coordinator: ${configPath} does not come from a rendered ConfigMap`)) {
  try {
    config = JSON.parse(configMap.data[configCm.key]);
  } catch (e) {
    check(false, `ConfigMap ${configMap.metadata.name}: ${configCm.key} is not JSON: ${e.message}`);
  }
}

if (config) {
  const chartKeys = ["listen", "http_listen", "state_dir", "roster", "transport"];
  const rest = Object.fromEntries(Object.entries(config).filter(([k]) => !chartKeys.includes(k)));
  check(isDeepStrictEqual(rest, values.config), "coordinator.json: the config differs from the values' config");
  check(config.listen === `tcp://0.0.0.0:${values.port}`, `coordinator.json: listen ${config.listen}`);
  check(config.http_listen === `0.0.0.0:${values.metricsPort}`, `coordinator.json: http_listen ${config.http_listen}`);

  const state = mountOf(coordinator, `${config.state_dir}/latest.json`);
  check(state && !state.mount.readOnly && (sts.spec.volumeClaimTemplates ?? []).some((t) => t.metadata.name === state.mount.name),
    `coordinator.json: state_dir ${config.state_dir} is not on the persistent volume`);

  const roster = mountOf(coordinator, config.roster ?? "");
  const rosterCm = roster && configMapSource(roster.volume, roster.rel);
  check(rosterCm, `coordinator.json: roster ${config.roster} is not mounted from a ConfigMap`);
  if (rosterCm && values.roster.json) {
    const rendered = ofKind("ConfigMap").find((o) => o.metadata.name === rosterCm.name)?.data?.[rosterCm.key];
    check(rendered !== undefined && JSON.parse(rendered).members, `roster: ${rosterCm.name}/${rosterCm.key} is not the roster`);
  } else if (rosterCm) {
    check(rosterCm.name === values.roster.existingConfigMap && rosterCm.key === values.roster.existingConfigMapKey,
      `roster: mounted from ${rosterCm.name}/${rosterCm.key}`);
  }

  check(config.transport?.security === "curve", `coordinator.json: transport.security ${config.transport?.security}`);
  const keyFile = config.transport?.secret_key ?? "";
  const key = mountOf(coordinator, keyFile);
  // The key sits in a memory-backed volume, put there mode 0600 by an init container that
  // reads it from the Secret (Secret files are group-readable under an fsGroup).
  check(key?.volume?.emptyDir?.medium === "Memory", `coordinator.json: secret_key ${keyFile} is not in a memory-backed volume`);
  const installer = (pod.initContainers ?? []).find((c) => (c.command ?? []).includes(keyFile));
  if (check(installer, `no init container puts ${keyFile} in place`)) {
    const cmd = installer.command;
    check(cmd[0] === "install" && cmd.includes("-m") && cmd[cmd.indexOf("-m") + 1] === "0600",
      `init container ${installer.name}: does not install the key with mode 0600`);
    const from = mountOf(installer, cmd[cmd.length - 2]);
    const secretName = from?.volume?.secret?.secretName;
    check(from?.mount.readOnly && from.volume.secret.defaultMode === 0o400,
      `init container ${installer.name}: the key's Secret is not mounted read-only with defaultMode 0400`);
    const wanted = values.transportKey.secretKeyJson ? ofKind("Secret")[0]?.metadata.name : values.transportKey.existingSecret;
    check(secretName === wanted, `the key comes from Secret ${secretName}, expected ${wanted}`);
    const into = mountOf(installer, keyFile);
    check(into && into.volume === key.volume, `init container ${installer.name}: ${keyFile} is not the coordinator's volume`);
  }
}

for (const s of ofKind("Secret")) {
  let key;
  try {
    key = JSON.parse(Buffer.from(s.data["coordinator.key"], "base64").toString("utf8"));
  } catch {
    key = undefined;
  }
  check(key?.public_key && key?.secret_key, `Secret ${s.metadata.name}: coordinator.key is not a key file`);
}
const tmp = mountOf(coordinator, "/tmp/x");
check(tmp?.volume?.emptyDir && !tmp.mount.readOnly, "coordinator: /tmp is not a writable emptyDir");

// --- Services -----------------------------------------------------------------------------
const services = ofKind("Service");
const headless = services.find((s) => s.spec.clusterIP === "None");
const external = services.find((s) => s.spec.clusterIP !== "None");
if (check(headless, "no headless Service")) {
  check(sts.spec.serviceName === headless.metadata.name, `StatefulSet: serviceName ${sts.spec.serviceName} is not the headless Service`);
  check(matches(headless.spec.selector, podLabels), "headless Service: selects other pods");
  const names = headless.spec.ports.map((p) => p.name).sort();
  check(isDeepStrictEqual(names, ["http", "zmq"]), `headless Service: ports ${names}`);
}
if (check(external, "no Service for the workers")) {
  check(external.spec.type === values.service.type, `Service ${external.metadata.name}: type ${external.spec.type}`);
  check(matches(external.spec.selector, podLabels), `Service ${external.metadata.name}: selects other pods`);
  const ports = external.spec.ports;
  check(ports.length === 1 && ports[0].port === values.port && ports[0].targetPort === "zmq",
    `Service ${external.metadata.name}: exposes more or other than the ZeroMQ port`);
  if (values.service.type === "LoadBalancer") {
    check(isDeepStrictEqual(external.spec.loadBalancerSourceRanges ?? [], values.service.loadBalancerSourceRanges),
      `Service ${external.metadata.name}: loadBalancerSourceRanges ${external.spec.loadBalancerSourceRanges}`);
  }
}

// --- NetworkPolicy ------------------------------------------------------------------------
for (const np of ofKind("NetworkPolicy")) {
  const where = `NetworkPolicy ${np.metadata.name}`;
  check(matches(np.spec.podSelector.matchLabels, podLabels), `${where}: does not select the coordinator`);
  check(isDeepStrictEqual([...np.spec.policyTypes].sort(), ["Egress", "Ingress"]), `${where}: policyTypes ${np.spec.policyTypes}`);
  const rules = np.spec.ingress ?? [];
  const zmq = rules.filter((r) => r.ports?.some((p) => p.port === "zmq" || p.port === values.port));
  const http = rules.filter((r) => r.ports?.some((p) => p.port === "http" || p.port === values.metricsPort));
  check(zmq.length === 1 && http.length === 1 && rules.length === 2, `${where}: expected one rule for each port`);
  if (zmq.length === 1) {
    const cidrs = (zmq[0].from ?? []).map((f) => f.ipBlock?.cidr);
    check(isDeepStrictEqual(cidrs, values.networkPolicy.workerCIDRs), `${where}: the ZeroMQ port admits ${cidrs.length ? cidrs : "everyone"}`);
  }
  if (http.length === 1) {
    const from = http[0].from ?? [];
    check(from.length === 1 && isDeepStrictEqual(from[0].namespaceSelector, values.networkPolicy.metrics.namespaceSelector) &&
      isDeepStrictEqual(from[0].podSelector, values.networkPolicy.metrics.podSelector),
      `${where}: the metrics port is not limited to the Prometheus selectors`);
  }
  if (!values.networkPolicy.allowDNS) check(isDeepStrictEqual(np.spec.egress ?? [], []), `${where}: allows egress`);
}

// --- ServiceMonitor -----------------------------------------------------------------------
for (const sm of ofKind("ServiceMonitor")) {
  const target = services.find((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels) &&
    s.spec.ports.some((p) => sm.spec.endpoints.some((e) => e.port === p.name && p.targetPort === "http")));
  check(target === headless, `ServiceMonitor ${sm.metadata.name}: does not scrape the headless Service's http port`);
  check(sm.spec.endpoints.every((e) => (e.path ?? "/metrics") === "/metrics"), `ServiceMonitor ${sm.metadata.name}: path`);
  check(matches(values.monitoring.serviceMonitor.labels, sm.metadata.labels), `ServiceMonitor ${sm.metadata.name}: labels`);
}

if (failures.length) {
  for (const f of failures) console.error(`FAIL: ${f}`);
  process.exit(1);
}
console.log(`ok: ${objects.length} objects (${kinds.join(", ")})`);
