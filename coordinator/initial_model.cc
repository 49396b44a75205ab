#include "initial_model.h"

#include "fl/log.h"

namespace fl::coordinator {

StatusOr<Checkpoint> InitialModelRequest::Obtain() {
  std::vector<WorkerRecord*> alive = registry_.Alive();
  if (alive.empty()) return Unavailable("no worker to initialise the model");
  WorkerRecord* w = alive.front();
  asked_ = w->id;
  model_.reset();
  registry_.Send(*w, MakeMessage(wire::INIT_REQUEST, session_, 0, 0));
  FL_LOG(kInfo) << "asked worker " << w->id << " (" << w->name << ") for the initial model";
  loop_.RunFor([&] { return model_.has_value() || !asked_; }, options_.phase_timeout_s);
  if (!model_) {
    if (asked_) {
      if (WorkerRecord* late = registry_.Find(*asked_)) {
        registry_.Drop(*late, "no initial model within the phase timeout", true);
      }
    }
    asked_.reset();
    return Unavailable("the initialising worker did not deliver a model");
  }
  asked_.reset();
  Checkpoint c = std::move(*model_);
  model_.reset();
  FL_LOG(kInfo) << "initial model: " << c.layout.tensors.size() << " tensors, " << c.values.size() << " parameters";
  return c;
}

void InitialModelRequest::OnDrop(uint32_t id) {
  if (asked_ && *asked_ == id) asked_.reset();
}

void InitialModelRequest::OnModel(WorkerRecord& w, const Message& m) {
  if (!asked_ || *asked_ != w.id || model_) return registry_.Drop(w, "unrequested INIT_MODEL", true);
  wire::ModelLayout layout;
  Checkpoint c;
  Status s = UnpackBody(m, &layout);
  if (s.ok()) {
    for (const auto& t : layout.tensors()) {
      c.layout.tensors.push_back({t.name(), std::vector<uint64_t>(t.shape().begin(), t.shape().end())});
    }
    s = c.layout.Validate(options_.max_model_parameters);
  }
  if (s.ok()) s = ExpectPayloadFrames(m, 1);
  if (s.ok()) {
    StatusOr<std::vector<float>> values = ReadFloatFrame(m.payload[0], c.layout.dimension(), "initial model");
    s = values.status();
    if (s.ok()) c.values = std::move(values).value();
  }
  if (!s.ok()) return registry_.Drop(w, "bad INIT_MODEL: " + s.message(), true);
  model_ = std::move(c);
}

}  // namespace fl::coordinator
