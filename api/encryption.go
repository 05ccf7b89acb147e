package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"strata/apicall"
	"strata/masterkey"
)

// PassphraseCreate is the body of create (new only) and modify.
type PassphraseCreate struct {
	NewPassphrase string `json:"new_passphrase"`
	OldPassphrase string `json:"old_passphrase,omitempty"`
}

// PassphraseStatus is LINSTOR's answer to GET /v1/encryption/passphrase.
type PassphraseStatus struct {
	Status string `json:"status" enum:"unset,locked,unlocked"`
}

func (s *server) registerEncryption(h huma.API) {
	const path = "/v1/encryption/passphrase"
	const op, obj = apicall.MaskMod, apicall.MaskCtrlConf
	pass := func() masterkey.Passphrase { return masterkey.Passphrase{Store: s.Store, Ring: s.Keyring} }
	reg := func(id, method, summary string, status int) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{"developers"}, DefaultStatus: status}
	}
	huma.Register(h, reg("passphraseStatus", http.MethodGet, "whether the master passphrase is set and entered", 0),
		func(ctx context.Context, _ *struct{}) (*struct{ Body PassphraseStatus }, error) {
			st, err := pass().Status(ctx)
			if err != nil {
				return nil, failure(err, 0, obj, nil)
			}
			return &struct{ Body PassphraseStatus }{PassphraseStatus{string(st)}}, nil
		})
	huma.Register(h, reg("encryptionPassphraseCreate", http.MethodPost, "create the master passphrase", http.StatusCreated),
		func(ctx context.Context, in *struct{ Body PassphraseCreate }) (*rcOutput, error) {
			if err := pass().Create(ctx, in.Body.NewPassphrase); err != nil {
				return nil, failure(err, apicall.MaskCrt, obj, nil)
			}
			return success(apicall.Created, apicall.MaskCrt, obj, "Crypt passphrase created.", "", nil), nil
		})
	huma.Register(h, reg("encryptionPassphraseModify", http.MethodPut, "change the master passphrase", 0),
		func(ctx context.Context, in *struct{ Body PassphraseCreate }) (*rcOutput, error) {
			if err := pass().Modify(ctx, in.Body.OldPassphrase, in.Body.NewPassphrase); err != nil {
				return nil, failure(err, op, obj, nil)
			}
			return success(apicall.Modified, op, obj, "Crypt passphrase updated", "", nil), nil
		})
	// The body is a bare JSON string, as the CLI and golinstor send it.
	huma.Register(h, reg("encryptionPassphraseEnter", http.MethodPatch, "enter the master passphrase", 0),
		func(ctx context.Context, in *struct{ RawBody []byte }) (*rcOutput, error) {
			var passphrase string
			if err := json.Unmarshal(in.RawBody, &passphrase); err != nil {
				return nil, invalid(apicall.FailInvldCryptPassphrase, op, obj, "The passphrase must be sent as a JSON string.", "The body is not a JSON string.", `Send it quoted, such as "my passphrase".`)
			}
			if err := pass().Enter(ctx, passphrase); err != nil {
				return nil, failure(err, op, obj, nil)
			}
			return success(apicall.PassphraseAccepted, op, obj, "Passphrase accepted", "", nil), nil
		})
}
