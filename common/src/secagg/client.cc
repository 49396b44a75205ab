#include "fl/secagg/client.h"

#include <sodium.h>

#include "client_states.h"

namespace fl::secagg {

Status CheckSortedIds(const google::protobuf::RepeatedField<uint32_t>& ids, const char* what) {
  for (int i = 0; i < ids.size(); ++i) {
    if (ids[i] == 0 || (i > 0 && ids[i] <= ids[i - 1])) {
      return InvalidArgument(std::string(what) + " must be ascending, distinct, non-zero worker ids");
    }
  }
  return Status::Ok();
}

std::string Bytes(const crypto::PublicKey& k) { return std::string(reinterpret_cast<const char*>(k.data()), k.size()); }

void ClientContext::Wipe() {
  if (input.size()) sodium_memzero(input.data(), input.size() * sizeof(uint32_t));
  input = RingVector();
  enc_keys.secret_key = crypto::SecretKey();
  mask_keys.secret_key = crypto::SecretKey();
  self_seed = crypto::SecretKey();
  for (auto& [id, h] : held) {
    sodium_memzero(h.self_seed.y.data(), sizeof h.self_seed.y);
    sodium_memzero(h.mask_secret.y.data(), sizeof h.mask_secret.y);
  }
  held.clear();
  for (auto& [id, peer] : neighbours) peer.inbound_share_key = crypto::SecretKey();
}

SecAggClient::SecAggClient(ClientConfig config) { ctx_.config = std::move(config); }

void SecAggClient::SetInput(RingVector input) {
  if (ctx_.input.size()) sodium_memzero(ctx_.input.data(), ctx_.input.size() * sizeof(uint32_t));
  ctx_.input = std::move(input);
}

SecAggClient::~SecAggClient() { ctx_.Wipe(); }

StatusOr<wire::SecAggClientMessage> SecAggClient::Start() {
  if (started_) return FailedPrecondition("client already started");
  started_ = true;
  const ClientConfig& c = ctx_.config;
  if (!c.identity || !c.roster || c.worker_id == 0) {
    abort_reason_ = "client misconfigured";
    return FailedPrecondition(abort_reason_);
  }
  ctx_.enc_keys = crypto::GenerateX25519();
  ctx_.mask_keys = crypto::GenerateX25519();
  ctx_.self_seed = crypto::RandomKey();
  wire::SecAggClientMessage out;
  wire::SignedKeys* k = out.mutable_advertise();
  k->set_worker_id(c.worker_id);
  k->set_name(c.identity->name);
  k->set_enc_public_key(Bytes(ctx_.enc_keys.public_key));
  k->set_mask_public_key(Bytes(ctx_.mask_keys.public_key));
  k->set_signature(crypto::Sign(c.identity->keys, AdvertiseTranscript(c.round, c.worker_id, c.identity->name,
                                                                      k->enc_public_key(), k->mask_public_key())));
  state_ = std::make_unique<AdvertiseKeysState>();
  return out;
}

StatusOr<ClientOutput> SecAggClient::Handle(const wire::SecAggServerMessage& m) {
  if (aborted()) return Aborted("client aborted earlier: " + abort_reason_);
  if (!state_) return FailedPrecondition("client not started");
  std::unique_ptr<ClientState> next;
  StatusOr<ClientOutput> out = state_->Handle(ctx_, m, &next);
  if (!out.ok()) {
    abort_reason_ = std::string("in state ") + state_->name() + ": " + out.status().message();
    ctx_.Wipe();
    return Status(out.status().code(), abort_reason_);
  }
  if (next) state_ = std::move(next);
  if (done()) ctx_.Wipe();
  return out;
}

std::map<uint32_t, std::string> SecAggClient::neighbour_names() const {
  std::map<uint32_t, std::string> out;
  for (const auto& [id, peer] : ctx_.neighbours) out[id] = peer.name;
  return out;
}

const char* SecAggClient::state_name() const {
  if (aborted()) return "aborted";
  return state_ ? state_->name() : "new";
}

// A finished client that then refuses a request is aborted, not done (as the server's done()).
bool SecAggClient::done() const { return !aborted() && state_ && std::string(state_->name()) == "done"; }

}  // namespace fl::secagg
