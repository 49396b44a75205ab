// Writes the seed files of the fuzz corpus that the project itself produces
// (tests/fuzz/README.md): protocol messages and secure-aggregation rounds recorded from
// honest rounds, checkpoints, a coordinator state_dir, and tiny images and volumes cut from
// the shared data sets with the project's own writers.
//
//   fl-fuzz-seeds CORPUS_DIR [SHARED_DATA_DIR [RUN_DIR]]
//
// RUN_DIR (an fl-launch run, e.g. runs/<stamp>) adds a seed packed from its real state_dir.
// Seeds are deterministic: the crypto runs on secagg_fixture's fixed random stream.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "data/image_ops.h"
#include "data/nifti.h"
#include "data/volume.h"
#include "fl/metrics_wire.h"
#include "fl/plan.h"
#include "fl/safetensors.h"
#include "fl/wire.h"
#include "fuzz_files.h"
#include "fuzz_input.h"
#include "secagg_fixture.h"

namespace {

using namespace fl;
namespace fs = std::filesystem;

std::string g_root;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fl-fuzz-seeds: %s\n", what.c_str());
  std::exit(1);
}

void Require(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.message());
}

void Put(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = fs::path(g_root) / target;
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) Die("cannot write " + (dir / name).string());
  std::printf("%s/%s (%zu bytes)\n", target.c_str(), name.c_str(), bytes.size());
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) Die("cannot read " + p.string());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A message in fuzz_wire's input format: frame count, then length-prefixed frames, the last
// one unprefixed.
std::string WireSeed(Message m) {
  const std::vector<Frame> frames = EncodeFrames(std::move(m));
  fuzz::Output o;
  o.U8(static_cast<uint8_t>(frames.size()));
  for (size_t i = 0; i < frames.size(); ++i) {
    if (i + 1 < frames.size()) o.Chunk(frames[i].bytes());
    else o.Bytes(frames[i].bytes());
  }
  return o.str();
}

// --- secure aggregation: an honest round, recorded -------------------------------------

struct Recorded {
  fuzz::Output server;  // fuzz_secagg_server records
  fuzz::Output client;  // fuzz_secagg_client records (worker 1)
  std::vector<Message> wire;
};

// Worker `dropped` (0: none) drops out before sending its masked input.
Recorded HonestRound(uint32_t dropped) {
  const fuzz::SecAggFixture& f = fuzz::Fixture();
  Recorded rec;
  rec.client.U8(1);  // the input is set before the first message
  secagg::SecAggServer server(fuzz::ServerConfigFor(f));
  std::vector<std::unique_ptr<secagg::SecAggClient>> clients;
  auto to_server = [&](uint32_t id, const wire::SecAggClientMessage& m, const RingVector* v) {
    rec.server.U8(0);
    rec.server.U8(static_cast<uint8_t>(id));
    rec.server.Chunk(m.SerializeAsString());
    rec.server.Chunk(v ? std::string(reinterpret_cast<const char*>(v->data()), v->size() * 4) : std::string());
    Message msg = MakeMessage(wire::SECAGG_CLIENT, f.round.session, f.round.round, id, &m);
    if (v) msg.payload.push_back(RingFrame(*v));
    rec.wire.push_back(std::move(msg));
    Require(server.Receive(id, m, v ? v->data() : nullptr, v ? v->size() : 0), "server receive");
  };
  auto close = [&] {
    rec.server.U8(2);
    StatusOr<std::vector<secagg::Outgoing>> out = server.Close();
    Require(out.status(), "server close");
    return std::move(out).value();
  };
  for (uint32_t id = 1; id <= fuzz::kWorkers; ++id) {
    // Worker 1's keys come from the stream fuzz_secagg_client starts from.
    fuzz::ResetRandom(id == 1 ? fuzz::kClientSeed : 5000 + id);
    clients.push_back(std::make_unique<secagg::SecAggClient>(fuzz::ClientConfigFor(f, id)));
    StatusOr<wire::SecAggClientMessage> adv = clients.back()->Start();
    Require(adv.status(), "start");
    clients.back()->SetInput(fuzz::InputOf(id));
    to_server(id, *adv, nullptr);
  }
  std::vector<secagg::Outgoing> msgs = close();
  while (!server.done()) {
    for (const secagg::Outgoing& o : msgs) {
      if (o.to == 1) {
        rec.client.U8(0);
        rec.client.Chunk(o.message.SerializeAsString());
      }
      rec.wire.push_back(MakeMessage(wire::SECAGG_SERVER, f.round.session, f.round.round, 0, &o.message));
      StatusOr<secagg::ClientOutput> r = clients[o.to - 1]->Handle(o.message);
      Require(r.status(), "client handle");
      if (o.to == dropped && r->masked_input) {
        rec.server.U8(3);
        rec.server.U8(static_cast<uint8_t>(dropped));
        server.Drop(dropped);
        continue;
      }
      if (r->message) to_server(o.to, *r->message, r->masked_input ? &*r->masked_input : nullptr);
    }
    msgs = close();
  }
  Require(server.TakeResult().status(), "result");
  return rec;
}

// --- the other seeds ---------------------------------------------------------------------

Checkpoint TinyModel(const Plan& plan, const std::vector<TensorInfo>& tensors) {
  Checkpoint c;
  c.layout.tensors = tensors;
  c.values.resize(c.layout.dimension());
  for (size_t i = 0; i < c.values.size(); ++i) c.values[i] = 0.01f * static_cast<float>(i % 17) - 0.05f;
  c.metadata = ModelMetadata(plan);
  return c;
}

std::string StateSeed(uint8_t flags, const std::string& latest, const std::string& metrics, const std::string& model,
                      const std::string& names, const std::string& roster, const std::string& identity,
                      const std::string& audit) {
  fuzz::Output o;
  o.U8(flags);
  for (const std::string* s : {&latest, &metrics, &model, &names, &roster, &identity, &audit}) o.Chunk(*s);
  return o.str();
}

void WireSeeds(const Recorded& rec) {
  const std::string session(16, 's');
  const Plan plan;
  wire::Hello hello;
  hello.set_name("hospital-a");
  hello.set_protocol_version(kProtocolVersion);
  Put("wire", "hello", WireSeed(MakeMessage(wire::HELLO, "", 0, 0, &hello)));
  wire::Welcome welcome;
  welcome.set_worker_id(2);
  welcome.set_plan_json(PlanToJson(plan).dump());
  Put("wire", "welcome", WireSeed(MakeMessage(wire::WELCOME, session, 0, 0, &welcome)));
  Put("wire", "heartbeat", WireSeed(MakeMessage(wire::HEARTBEAT, session, 0, 2)));
  wire::ModelLayout layout;
  auto* t = layout.add_tensors();
  t->set_name("linear.weight");
  t->add_shape(2);
  t->add_shape(3);
  t = layout.add_tensors();
  t->set_name("linear.bias");
  t->add_shape(2);
  const std::vector<float> model = {0.5f, -0.25f, 1, 0, 2, -3, 0.125f, 4};
  Message init = MakeMessage(wire::INIT_MODEL, session, 0, 2, &layout);
  init.payload.push_back(FloatFrame(model.data(), model.size()));
  Put("wire", "init_model", WireSeed(std::move(init)));
  wire::RoundStart rs;
  for (uint32_t id = 1; id <= 4; ++id) rs.add_cohort(id);
  rs.set_dimension(model.size());
  rs.set_model_version(1);
  rs.set_clip(4.0);
  rs.set_max_total_weight(1u << 20);
  rs.set_ring_bits(32);
  rs.set_max_cohort(1000);
  Message start = MakeMessage(wire::ROUND_START, session, 3, 0, &rs);
  start.payload.push_back(FloatFrame(model.data(), model.size()));
  Put("wire", "round_start", WireSeed(std::move(start)));
  Put("wire", "finish", WireSeed(MakeMessage(wire::FINISH, session, 0, 0, &rs)));
  const wire::Metrics metrics = MetricsToWire({{"test_accuracy", 0.9}, {"test_auroc", 0.8}, {"test_loss", 0.3}});
  Put("wire", "final_report", WireSeed(MakeMessage(wire::FINAL_REPORT, session, 0, 2, &metrics)));
  wire::Abort abort_body;
  abort_body.set_reason("phase timed out");
  Put("wire", "abort", WireSeed(MakeMessage(wire::ABORT, session, 3, 0, &abort_body)));
  for (size_t i = 0; i < rec.wire.size(); ++i) {
    const Message& m = rec.wire[i];
    Put("wire", std::string(m.type() == wire::SECAGG_CLIENT ? "secagg_client-" : "secagg_server-") +
                    std::to_string(i),
        WireSeed(m));
  }
}

void DataSeeds(const std::string& shared) {
  // A 16 x 16 crop of a real endoscopy image and its mask, written as PNG by the project,
  // and a small real JPEG mask as it is.
  const std::string kvasir = shared + "/polyp/kvasir";
  std::vector<std::string> images;
  for (const auto& e : fs::directory_iterator(kvasir + "/images")) images.push_back(e.path().filename());
  std::sort(images.begin(), images.end());
  if (images.empty()) Die("no images in " + kvasir);
  for (const char* sub : {"images", "masks"}) {
    StatusOr<data::Image8> img = data::ReadImage(kvasir + "/" + sub + "/" + images[0], std::string(sub) == "images" ? 3 : 1);
    Require(img.status(), "read image");
    const int64_t side = 16, y0 = img->h / 2 - 8, x0 = img->w / 2 - 8;
    std::vector<uint8_t> crop;
    for (int64_t y = y0; y < y0 + side; ++y) {
      for (int64_t x = x0; x < x0 + side; ++x) {
        for (int64_t ch = 0; ch < img->c; ++ch) crop.push_back(img->hwc[static_cast<size_t>((y * img->w + x) * img->c + ch)]);
      }
    }
    const std::string path = fuzz::ScratchDir() + "/crop.png";
    Require(data::WritePng(path, crop.data(), side, side, img->c), "write png");
    fuzz::Output o;
    o.U8(std::string(sub) == "images" ? 0x08 | 3 : 0x08 | 1 | 0x40);  // load as a folder too
    o.Chunk(std::string(sub) == "images" ? "a.png\nb.png" : "m1.png\nm1.jpg\n.hidden.png");
    o.Bytes(Slurp(path));
    Put("image", std::string(sub) + "-16x16.png", o.str());
  }
  {
    const std::string mask = shared + "/polyp/cvc_clinicdb/masks/559.jpg";
    fuzz::Output o;
    o.U8(1);
    o.Chunk("559.jpg");
    o.Bytes(Slurp(mask));
    Put("image", "mask-559.jpg", o.str());
  }
  // An 8 x 8 x 4 box around the left atrium of a real MRI volume and of its label map.
  const std::string la = shared + "/left_atrium/volumes/06SR5RBREL16DQ6M8LWS";
  StatusOr<data::Volume> label = data::ReadNifti(la + "_label.nii.gz");
  Require(label.status(), "read label");
  StatusOr<data::Volume> image = data::ReadNifti(la + "_image.nii.gz");
  Require(image.status(), "read volume");
  const std::array<int64_t, 3> centre = data::ForegroundCentre(*label);
  for (const auto& [name, v, dtype] :
       {std::tuple{"image", &*image, data::NiftiDtype::kInt16}, std::tuple{"label", &*label, data::NiftiDtype::kUint8}}) {
    StatusOr<data::Volume> box = data::CropOrPad(*v, {8, 8, 4}, centre, 0.0f);
    Require(box.status(), "crop");
    for (const char* ext : {".nii", ".nii.gz"}) {
      const std::string path = fuzz::ScratchDir() + "/box" + ext;
      Require(data::WriteNifti(path, *box, dtype), "write nifti");
      const bool gz = std::string(ext) == ".nii.gz";
      const uint8_t flags = (gz ? 1 : 0) | (std::string(name) == "image" ? 2 : 0);
      Put("nifti", std::string(name) + "-8x8x4" + ext, std::string(1, static_cast<char>(flags)) + Slurp(path));
    }
  }
  std::string ids = "\x04";
  ids += Slurp(shared + "/left_atrium/test.list").substr(0, 200);
  Put("nifti", "ids.list", ids.substr(0, ids.rfind('\n') + 1));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [SHARED_DATA_DIR [RUN_DIR]]\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  fuzz::InitDeterministicCrypto();

  const Recorded honest = HonestRound(0);
  const Recorded dropout = HonestRound(4);
  Put("secagg_server", "honest-round", honest.server.str());
  Put("secagg_server", "dropout-round", dropout.server.str());
  Put("secagg_client", "honest-round", honest.client.str());
  Put("secagg_client", "dropout-round", dropout.client.str());
  WireSeeds(dropout);

  // Checkpoints: a logistic regression for the 30 breast-cancer features, and the default
  // plan's MLP (the model fuzz_state's plan asks for).
  Plan logreg;
  logreg.model.name = "logreg";
  Put("safetensors", "logreg.safetensors",
      EncodeSafetensors(TinyModel(logreg, {{"linear.weight", {2, 30}}, {"linear.bias", {2}}})));
  const Plan mlp;
  const std::string mlp_model = EncodeSafetensors(
      TinyModel(mlp, {{"fc1.weight", {32, 30}}, {"fc1.bias", {32}}, {"out.weight", {2, 32}}, {"out.bias", {2}}}));
  Put("safetensors", "mlp.safetensors", mlp_model);

  // A state_dir of two committed rounds and one uncommitted line, an identity and a roster.
  const fuzz::SecAggFixture& f = fuzz::Fixture();
  const std::string identity_path = fuzz::ScratchDir() + "/identity.json";
  Require(f.ids[0].Save(identity_path), "save identity");
  const std::string identity = Slurp(identity_path);
  const std::string roster = f.roster.ToJson().dump(2);
  const std::string metrics =
      "{\"round\":1,\"protocol_round\":1,\"mean_train_loss\":0.6,\"cohort_size\":4}\n"
      "{\"round\":2,\"protocol_round\":3,\"mean_train_loss\":0.5,\"cohort_size\":3}\n"
      "{\"round\":3,\"protocol_round\":4,\"mean_train_loss\":0.4}\n";
  Put("state", "two-rounds",
      StateSeed(0, "{\"file\":\"model-v000002.safetensors\",\"model_version\":2}", metrics, mlp_model,
                "model-v000001.safetensors\nmodel-v000003.safetensors\nmodel-v1.safetensors", roster, identity,
                "round-000003\nround-000004\nround-x"));
  Put("state", "final",
      StateSeed(0, "{\"file\":\"model-v000001.safetensors\",\"model_version\":1}",
                "{\"round\":1,\"protocol_round\":2,\"mean_train_loss\":0.6}\n{\"final\":{},\"model_version\":1}\n",
                mlp_model, "", roster, identity, ""));
  if (argc > 2) DataSeeds(argv[2]);
  if (argc > 3) {
    // A real run: its latest.json, metrics.jsonl, newest checkpoint and roster.
    const fs::path run = argv[3];
    const std::string latest = Slurp(run / "state/latest.json");
    const size_t at = latest.find("model-v");
    if (at == std::string::npos) Die("unexpected latest.json");
    const std::string file = latest.substr(at, latest.find('"', at) - at);
    Put("state", "real-run",
        StateSeed(0, latest, Slurp(run / "state/metrics.jsonl"), Slurp(run / "state" / file), "",
                  Slurp(run / "keys/roster.json"), identity, "round-000001"));
  }
  return 0;
}
