// Internal: the client's states (one per file).
#pragma once

#include "fl/secagg/client.h"

namespace fl::secagg {

// Sent its keys; waits for the neighbours' keys, then sends encrypted shares.
class AdvertiseKeysState : public ClientState {
 public:
  const char* name() const override { return "advertise-keys"; }
  StatusOr<ClientOutput> Handle(ClientContext& ctx, const wire::SecAggServerMessage& m,
                                std::unique_ptr<ClientState>* next) override;
};

// Sent its shares; waits for the shares addressed to it, then sends its masked input.
class ShareKeysState : public ClientState {
 public:
  const char* name() const override { return "share-keys"; }
  StatusOr<ClientOutput> Handle(ClientContext& ctx, const wire::SecAggServerMessage& m,
                                std::unique_ptr<ClientState>* next) override;
};

// Sent its masked input; waits for the survivor set, then signs it.
class MaskedInputState : public ClientState {
 public:
  const char* name() const override { return "masked-input"; }
  StatusOr<ClientOutput> Handle(ClientContext& ctx, const wire::SecAggServerMessage& m,
                                std::unique_ptr<ClientState>* next) override;
};

// Signed the survivor set; waits for the unmasking request, then reveals shares.
class ConsistencyState : public ClientState {
 public:
  const char* name() const override { return "consistency"; }
  StatusOr<ClientOutput> Handle(ClientContext& ctx, const wire::SecAggServerMessage& m,
                                std::unique_ptr<ClientState>* next) override;
};

// Finished: refuses every further message (in particular a second unmasking request).
class DoneState : public ClientState {
 public:
  const char* name() const override { return "done"; }
  StatusOr<ClientOutput> Handle(ClientContext&, const wire::SecAggServerMessage&,
                                std::unique_ptr<ClientState>*) override {
    return PermissionDenied("round already finished; refusing a further request");
  }
};

// Helpers shared by the states.
Status CheckSortedIds(const google::protobuf::RepeatedField<uint32_t>& ids, const char* what);
std::string Bytes(const crypto::PublicKey& k);

}  // namespace fl::secagg
