// Tests for the strict JSON config reader (fl/config_reader.h), the coordinator's
// options (coordinator/options.h), the training plan (fl/plan.h) and ParseArgs (fl/cli.h).
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fl/cli.h"
#include "fl/config_reader.h"
#include "fl/plan.h"
#include "options.h"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using fl::ConfigReader;
using fl::StatusCode;
using fl::coordinator::CoordinatorOptions;
using fl::coordinator::ParseCoordinatorOptions;
using nlohmann::json;

namespace {

json J(const std::string& text) {
  auto j = fl::ParseJsonText(text, "test");
  REQUIRE(j.ok());
  return *j;
}

// Error message of ParseCoordinatorOptions on `text` (which must fail).
std::string OptionsError(const std::string& text) {
  auto o = ParseCoordinatorOptions(J(text), "coordinator.json");
  REQUIRE_FALSE(o.ok());
  CHECK(o.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(o.status().message(), StartsWith("coordinator.json: "));
  return o.status().message();
}

std::string RepoConfig(const char* name) {
  // tests/unit/<this file> -> <repo>/configs/<name>
  const std::filesystem::path here(__FILE__);
  return (here.parent_path().parent_path().parent_path() / "configs" / name).string();
}

}  // namespace

TEST_CASE("config: unknown keys are reported with their full dotted path", "[config]") {
  const json j = J(R"({"a": 1, "secagg": {"clip": 1.0, "foo": 2, "deep": {"x": 1, "y": 2}}, "zzz": true})");
  ConfigReader r(j, "");
  int64_t a = 0;
  r.Get("a", &a, 0, 10);
  ConfigReader sa = r.Child("secagg");
  double clip = 0;
  sa.Get("clip", &clip, 0, 10);
  ConfigReader deep = sa.Child("deep");
  int64_t x = 0;
  deep.Get("x", &x, 0, 10);
  (void)deep.Finish();
  (void)sa.Finish();
  fl::Status s = r.Finish();
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s.message(), Contains("secagg.foo: unknown key"));
  CHECK_THAT(s.message(), Contains("secagg.deep.y: unknown key"));
  CHECK_THAT(s.message(), Contains("zzz: unknown key"));
  CHECK_THAT(s.message(), !Contains("clip") && !Contains("deep.x") && !Contains("a:"));
  CHECK(a == 1);
  CHECK(clip == 1.0);
  CHECK(x == 1);

  // A prefix names the whole path; a non-object child is reported.
  ConfigReader w(J(R"({"secagg": 5, "k": 1})"), "worker");
  (void)w.Child("secagg").Finish();
  s = w.Finish();
  CHECK_THAT(s.message(), Contains("worker.secagg: expected a JSON object"));
  CHECK_THAT(s.message(), Contains("worker.k: unknown key"));

  // All keys read: OK.
  ConfigReader ok(J(R"({"a": 2})"), "");
  ok.Get("a", &a, 0, 10);
  CHECK(ok.Finish().ok());
}

TEST_CASE("config: wrong types are named with the field path", "[config]") {
  const json j = J(R"({"plan": {"epochs": "ten", "lr": "fast", "on": 1, "name": 3, "h": [1, "x"],
                      "tags": ["a", 2], "n": 1.5, "lr2": 2}})");
  ConfigReader r(j, "");
  ConfigReader p = r.Child("plan");
  int64_t epochs = 7;
  double lr = 0.5, lr2 = 0;
  bool on = false;
  std::string name = "keep";
  std::vector<double> h = {9};
  std::vector<std::string> tags;
  int64_t n = 4;
  p.Get("epochs", &epochs, 1, 100);
  p.Get("lr", &lr, 0, 1);
  p.Get("on", &on);
  p.Get("name", &name);
  p.Get("h", &h, 0, 10);
  p.Get("tags", &tags);
  p.Get("n", &n, 0, 10);
  p.Get("lr2", &lr2, 0, 10);  // an integer is a number
  (void)p.Finish();
  const std::string m = r.Finish().message();
  CHECK_THAT(m, Contains("plan.epochs: expected an integer, got \"ten\""));
  CHECK_THAT(m, Contains("plan.lr: expected a number, got \"fast\""));
  CHECK_THAT(m, Contains("plan.on: expected true or false, got 1"));
  CHECK_THAT(m, Contains("plan.name: expected a string, got 3"));
  CHECK_THAT(m, Contains("plan.h: expected numbers"));
  CHECK_THAT(m, Contains("plan.tags: expected strings"));
  CHECK_THAT(m, Contains("plan.n: expected an integer, got 1.5"));
  CHECK_THAT(m, !Contains("lr2"));
  // Failed reads keep the defaults.
  CHECK(epochs == 7);
  CHECK(lr == 0.5);
  CHECK(name == "keep");
  CHECK(h == std::vector<double>{9});
  CHECK(n == 4);
  CHECK(lr2 == 2.0);
}

TEST_CASE("config: out-of-range numbers name the field and the range", "[config]") {
  const json j = J(R"({"rounds": 0, "lr": 11.5, "neg": -1, "big": 9223372036854775808,
                      "u32": 4294967296, "ok": 5})");
  ConfigReader r(j, "");
  uint64_t rounds = 3;
  double lr = 0.01;
  uint64_t neg = 1;
  int64_t big = 1;
  uint32_t u32 = 1, ok = 0;
  r.Get("rounds", &rounds, 1, 100);
  r.Get("lr", &lr, 0.5, 2.0);
  r.Get("neg", &neg, 0, 10);
  r.Get("big", &big, 0, INT64_MAX);
  r.Get("u32", &u32, 0, UINT32_MAX);
  r.Get("ok", &ok, 5, 5);
  const std::string m = r.Finish().message();
  CHECK_THAT(m, Contains("rounds: expected an integer in [1, 100], got 0"));
  CHECK_THAT(m, Contains("lr: expected a number in [0.5, 2], got 11.5"));
  CHECK_THAT(m, Contains("neg: expected an integer in [0, 10], got -1"));
  CHECK_THAT(m, Contains("big: expected an integer in [0, 9223372036854775807]"));
  CHECK_THAT(m, Contains("u32: expected an integer in [0, 4294967295], got 4294967296"));
  CHECK(rounds == 3);
  CHECK(lr == 0.01);
  CHECK(neg == 1);
  CHECK(big == 1);
  CHECK(u32 == 1);
  CHECK(ok == 5);
}

TEST_CASE("config: GetEnum lists the allowed values; Require reports missing keys", "[config]") {
  ConfigReader r(J(R"({"optimizer": "adagrad", "kind": 3, "mode": "b"})"), "training");
  std::string opt = "adam", kind = "x", mode = "a";
  r.GetEnum("optimizer", &opt, {"sgd", "adam"});
  r.GetEnum("kind", &kind, {"x", "y"});
  r.GetEnum("mode", &mode, {"a", "b"});
  CHECK(r.Require("mode"));
  CHECK_FALSE(r.Require("name"));
  CHECK(r.Has("mode"));
  CHECK_FALSE(r.Has("name"));
  const std::string m = r.Finish().message();
  CHECK_THAT(m, Contains(R"(training.optimizer: expected one of "sgd", "adam", got "adagrad")"));
  CHECK_THAT(m, Contains(R"(training.kind: expected one of "x", "y", got 3)"));
  CHECK_THAT(m, Contains("training.name: is required"));
  CHECK_THAT(m, !Contains("unknown key"));
  CHECK(opt == "adam");
  CHECK(mode == "b");
}

TEST_CASE("config: JSON text allows comments and reports invalid JSON", "[config]") {
  auto j = fl::ParseJsonText("// header\n{ /* block */ \"a\": 1, // tail\n \"b\": [2, 3] }", "c.json");
  REQUIRE(j.ok());
  CHECK((*j)["a"] == 1);
  CHECK((*j)["b"].size() == 2);
  for (const char* bad : {"{\"a\": }", "{\"a\": 1,}", "", "{\"a\": 1} trailing", "{'a': 1}"}) {
    INFO("text: " << bad);
    auto e = fl::ParseJsonText(bad, "c.json");
    CHECK(e.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(e.status().message(), StartsWith("c.json: not valid JSON"));
  }
  CHECK(fl::ParseJsonFile("/nonexistent/dir/x.json").status().code() == StatusCode::kNotFound);
}

TEST_CASE("config: CURVE is the default, with its key and roster required", "[config]") {
  const std::string e = OptionsError("{}");
  CHECK_THAT(e, Contains("transport.secret_key: is required with CURVE"));
  CHECK_THAT(e, Contains("roster: is required with CURVE"));
  auto o = ParseCoordinatorOptions(J(R"({"roster": "r.json", "transport": {"secret_key": "c.key"}})"), "c.json");
  REQUIRE(o.ok());
  CHECK(o->transport_security == "curve");
  CHECK(o->secret_key == "c.key");
  CHECK_THAT(OptionsError(R"({"transport": {"security": "insecure"}, "listen": "tcp://0.0.0.0:7000"})"),
             Contains("refused for a listen address that is not loopback"));
  CHECK_THAT(OptionsError(R"({"transport": {"security": "tls"}})"), Contains("transport.security"));
  CHECK(ParseCoordinatorOptions(J(R"({"transport": {"security": "insecure"}, "listen": "ipc:///tmp/c"})"), "c.json").ok());
}

TEST_CASE("config: coordinator options default from an otherwise empty object", "[config]") {
  auto o = ParseCoordinatorOptions(J(R"({"transport": {"security": "insecure"}})"), "c.json");
  REQUIRE(o.ok());
  CHECK(o->listen == "tcp://127.0.0.1:7000");
  CHECK(o->min_workers == 3);
  CHECK(o->max_workers == 1000);
  CHECK(o->rounds == 10);
  CHECK(o->secagg.clip == 4.0);
  CHECK(o->secagg.max_total_weight == (1u << 20));
  CHECK(o->secagg.max_cohort == 1000);  // = max_workers
  CHECK(o->secagg.Validate().ok());
  CHECK(o->plan.model.name == "mlp");
  CHECK(o->state_dir == "state");
  CHECK(o->server.learning_rate == 1.0);  // plain FedAvg
  CHECK(o->server.momentum == 0.0);
  CHECK(o->resume);  // a restarted coordinator continues its state_dir
}

TEST_CASE("config: server optimizer section", "[config]") {
  auto o = ParseCoordinatorOptions(
      J(R"({"transport": {"security": "insecure"}, "server_optimizer": {"learning_rate": 0.5, "momentum": 0.9}})"),
      "c.json");
  REQUIRE(o.ok());
  CHECK(o->server.learning_rate == 0.5);
  CHECK(o->server.momentum == 0.9);
  CHECK_THAT(OptionsError(R"({"server_optimizer": {"momentum": 1.0}})"), Contains("server_optimizer.momentum"));
  CHECK_THAT(OptionsError(R"({"server_optimizer": {"learning_rate": 0}})"), Contains("server_optimizer.learning_rate"));
  CHECK_THAT(OptionsError(R"({"server_optimizer": {"beta": 0.9}})"), Contains("server_optimizer.beta"));
}

TEST_CASE("config: coordinator options reject bad values with clear messages", "[config]") {
  CHECK_THAT(OptionsError(R"({"listn": "tcp://x:1"})"), Contains("listn: unknown key"));
  CHECK_THAT(OptionsError(R"({"min_workers": "three"})"),
             Contains("min_workers: expected an integer, got \"three\""));
  CHECK_THAT(OptionsError(R"({"min_workers": 1})"), Contains("min_workers: expected an integer in [3, "));
  CHECK_THAT(OptionsError(R"({"min_workers": 10, "max_workers": 5})"),
             Contains("min_workers: must not exceed max_workers"));
  const std::string clip = OptionsError(R"({"secagg": {"clip": -1}})");
  CHECK_THAT(clip, Contains("secagg.clip: expected a number in [1e-06, 1e+06], got -1"));
  const std::string model = OptionsError(R"({"plan": {"model": {"name": "resnet900"}}})");
  CHECK_THAT(model, Contains("plan.model.name"));
  CHECK_THAT(model, Contains("\"logreg\", \"mlp\", \"cnn\""));
  CHECK_THAT(model, Contains("resnet900"));
  CHECK_THAT(OptionsError(R"({"plan": {"training": {"epochs": 0}}})"),
             Contains("plan.training.epochs: expected an integer in [1, 10000], got 0"));
  CHECK_THAT(OptionsError(R"({"plan": {"training": {"epoch": 2}}})"),
             Contains("plan.training.epoch: unknown key"));
  CHECK_THAT(OptionsError(R"({"state_dir": ""})"), Contains("state_dir: must not be empty"));
  CHECK_THAT(OptionsError(R"({"secagg": {"clip": 1000000, "max_total_weight": 1073741824}})"),
             Contains("secagg: no precision left"));
  CHECK_THAT(OptionsError(R"({"timeouts": {"heartbeat_s": 0}})"), Contains("timeouts.heartbeat_s"));
  CHECK_THAT(OptionsError(R"({"convergence": {"patience": -1}})"), Contains("convergence.patience"));
  CHECK_THAT(OptionsError(R"([1, 2])"), Contains("expected a JSON object"));
  // Every error is reported, not just the first.
  const std::string both = OptionsError(R"({"min_workers": 1, "rounds": 0, "bogus": 1})");
  CHECK_THAT(both, Contains("min_workers") && Contains("rounds") && Contains("bogus: unknown key"));
}

TEST_CASE("config: a full coordinator config parses to the given values", "[config]") {
  auto o = ParseCoordinatorOptions(J(R"({
    "listen": "tcp://0.0.0.0:7100", "min_workers": 4, "max_workers": 50, "rounds": 25,
    "roster": "keys/roster.json", "transport": {"security": "curve", "secret_key": "keys/coordinator.key"},
    "convergence": {"patience": 3, "min_delta": 0.01},
    "timeouts": {"admission_s": 30, "phase_s": 120.5, "heartbeat_s": 2, "final_report_s": 15},
    "state_dir": "/tmp/fl-state", "keep_checkpoints": 5, "init_checkpoint": "init.safetensors",
    "max_model_parameters": 123456,
    "secagg": {"clip": 0.5, "max_total_weight": 5000},
    "plan": {"model": {"name": "cnn", "channels": 8, "dropout": 0.2, "init_seed": 9, "hidden": [64, 8]},
             "training": {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9,
                          "weight_decay": 0.001, "epochs": 2, "batch_size": 64, "seed": 11}}
  })"), "full.json");
  REQUIRE(o.ok());
  const CoordinatorOptions& c = *o;
  CHECK(c.listen == "tcp://0.0.0.0:7100");
  CHECK(c.min_workers == 4);
  CHECK(c.max_workers == 50);
  CHECK(c.rounds == 25);
  CHECK(c.patience == 3);
  CHECK(c.min_delta == 0.01);
  CHECK(c.admission_timeout_s == 30);
  CHECK(c.phase_timeout_s == 120.5);
  CHECK(c.heartbeat_timeout_s == 2);
  CHECK(c.final_report_timeout_s == 15);
  CHECK(c.state_dir == "/tmp/fl-state");
  CHECK(c.keep_checkpoints == 5);
  CHECK(c.init_checkpoint == "init.safetensors");
  CHECK(c.max_model_parameters == 123456);
  CHECK(c.secagg.clip == 0.5);
  CHECK(c.secagg.max_total_weight == 5000);
  CHECK(c.secagg.max_cohort == 50);
  CHECK(c.plan.model.name == "cnn");
  CHECK(c.plan.model.channels == 8);
  CHECK(c.plan.model.dropout == 0.2);
  CHECK(c.plan.model.init_seed == 9);
  CHECK(c.plan.model.hidden == std::vector<double>{64, 8});
  CHECK(c.plan.training.optimizer == "sgd");
  CHECK(c.plan.training.learning_rate == 0.05);
  CHECK(c.plan.training.momentum == 0.9);
  CHECK(c.plan.training.weight_decay == 0.001);
  CHECK(c.plan.training.epochs == 2);
  CHECK(c.plan.training.batch_size == 64);
  CHECK(c.plan.training.seed == 11);
}

TEST_CASE("config: the repository's example coordinator.json is valid", "[config]") {
  const std::string path = RepoConfig("coordinator.json");
  INFO("path: " << path);
  auto j = fl::ParseJsonFile(path);
  REQUIRE(j.ok());
  auto o = ParseCoordinatorOptions(*j, path);
  INFO("error: " << o.status().message());
  REQUIRE(o.ok());
  CHECK(o->secagg.clip == 2.0);
  CHECK(o->secagg.max_total_weight == 1048576);
  CHECK(o->min_workers == 3);
  CHECK(o->plan.model.name == "mlp");
}

TEST_CASE("config: plan round-trips through PlanToJson and ParsePlan", "[config]") {
  fl::Plan p;
  p.model.name = "cnn";
  p.model.hidden = {64, 16};
  p.model.channels = 8;
  p.model.dropout = 0.25;
  p.model.init_seed = 77;
  p.training.optimizer = "sgd";
  p.training.learning_rate = 0.1;
  p.training.momentum = 0.9;
  p.training.weight_decay = 1e-4;
  p.training.epochs = 3;
  p.training.batch_size = 128;
  p.training.seed = UINT64_MAX;
  // Through JSON text, as WELCOME carries it.
  auto j = fl::ParseJsonText(fl::PlanToJson(p).dump(), "plan_json");
  REQUIRE(j.ok());
  auto q = fl::ParsePlan(*j, "plan");
  REQUIRE(q.ok());
  CHECK(q->model.name == "cnn");
  CHECK(q->model.hidden == p.model.hidden);
  CHECK(q->model.channels == 8);
  CHECK(q->model.dropout == 0.25);
  CHECK(q->model.init_seed == 77);
  CHECK(q->training.optimizer == "sgd");
  CHECK(q->training.learning_rate == 0.1);
  CHECK(q->training.momentum == 0.9);
  CHECK(q->training.weight_decay == 1e-4);
  CHECK(q->training.epochs == 3);
  CHECK(q->training.batch_size == 128);
  CHECK(q->training.seed == UINT64_MAX);
  CHECK(fl::PlanToJson(*q) == fl::PlanToJson(p));

  auto d = fl::ParsePlan(json::object(), "plan");
  REQUIRE(d.ok());
  CHECK(fl::PlanToJson(*d) == fl::PlanToJson(fl::Plan()));

  auto frac = fl::ParsePlan(J(R"({"model": {"hidden": [32.5]}})"), "plan");
  CHECK_THAT(frac.status().message(), Contains("plan.model.hidden: layer widths must be integers"));
  auto extra = fl::ParsePlan(J(R"({"model": {"layers": 3}, "optimizer": "sgd"})"), "plan");
  CHECK_THAT(extra.status().message(), Contains("plan.model.layers: unknown key"));
  CHECK_THAT(extra.status().message(), Contains("plan.optimizer: unknown key"));
}

namespace {

struct Argv {
  explicit Argv(std::vector<std::string> a) : args(std::move(a)) {
    for (auto& s : args) ptrs.push_back(s.data());
  }
  int argc() const { return static_cast<int>(ptrs.size()); }
  char** argv() { return ptrs.data(); }
  std::vector<std::string> args;
  std::vector<char*> ptrs;
};

const std::vector<fl::FlagSpec> kSpecs = {
    {"config", true, "config file"}, {"verbose", false, "more logs"}, {"port", true, "port"}};

fl::StatusOr<fl::ParsedArgs> Parse(std::vector<std::string> a, int first = 1) {
  Argv v(std::move(a));
  return fl::ParseArgs(v.argc(), v.argv(), first, kSpecs);
}

}  // namespace

TEST_CASE("config: ParseArgs accepts values, switches and positionals", "[config][cli]") {
  auto a = Parse({"prog", "--config", "a.json", "--verbose", "pos1", "--port=7000", "-x", "--", "pos2"});
  REQUIRE(a.ok());
  CHECK(a->Get("config") == "a.json");
  CHECK(a->Get("port") == "7000");
  CHECK(a->switches.count("verbose") == 1);
  CHECK(a->Has("verbose"));
  CHECK_FALSE(a->Has("nope"));
  CHECK(a->Get("nope", "dflt") == "dflt");
  CHECK(a->positional == std::vector<std::string>{"pos1", "-x", "--", "pos2"});

  auto b = Parse({"prog", "--config=x=y", "--config=", "--port", "--verbose"});
  REQUIRE(b.ok());
  CHECK(b->Get("config", "unset").empty());  // the last one wins
  CHECK(b->Get("port") == "--verbose");       // a value may start with dashes
  CHECK_FALSE(b->switches.count("verbose"));

  auto c = Parse({"prog", "sub", "--config", "c"}, 2);  // `first` skips a subcommand
  REQUIRE(c.ok());
  CHECK(c->positional.empty());
  CHECK(c->Get("config") == "c");
}

TEST_CASE("config: ParseArgs rejects usage errors", "[config][cli]") {
  auto unknown = Parse({"prog", "--confg", "a.json"});
  CHECK(unknown.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(unknown.status().message(), Contains("unknown flag --confg"));
  CHECK_THAT(Parse({"prog", "--confg=a"}).status().message(), Contains("unknown flag --confg"));
  CHECK_THAT(Parse({"prog", "--verbose", "--config"}).status().message(), Contains("--config needs a value"));
  CHECK_THAT(Parse({"prog", "--verbose=1"}).status().message(), Contains("--verbose takes no value"));
  CHECK_THAT(Parse({"prog", "--verbose="}).status().message(), Contains("--verbose takes no value"));

  const std::string help = fl::FormatFlags(kSpecs);
  CHECK_THAT(help, Contains("--config VALUE") && Contains("config file"));
  CHECK_THAT(help, Contains("--verbose") && !Contains("--verbose VALUE"));
}
