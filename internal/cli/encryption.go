package cli

import (
	"io"
	"os"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/seal"
	"github.com/credrotate/credrotate/pkg/seal/sopsout"
)

// maxAgeKeyFile bounds an age identity file.
const maxAgeKeyFile = 64 << 10

// sopsEncoder returns the encoder of an environment on sops: its age
// recipients and, when sops.ageKeyFile is set, the identity that lets an
// update keep other keys' ciphertext.
func sopsEncoder(e config.Environment) (seal.Encoder, error) {
	var identity string
	if f := e.SOPS.AgeKeyFile; f != "" {
		fh, err := os.Open(f)
		if err != nil {
			return nil, usageErrorf("environments %s: sops.ageKeyFile: %v (fix the path or remove the setting)", e.Name, err)
		}
		defer fh.Close()
		b, err := io.ReadAll(io.LimitReader(fh, maxAgeKeyFile+1))
		if err != nil || len(b) > maxAgeKeyFile {
			return nil, usageErrorf("environments %s: sops.ageKeyFile %s cannot be read or is larger than %d bytes", e.Name, f, maxAgeKeyFile)
		}
		identity = string(b)
	}
	enc, err := sopsout.New(sopsout.Options{Recipients: e.SOPS.AgeRecipients, Identity: identity})
	if err != nil {
		return nil, usageErrorf("environments %s: sops: %v", e.Name, err)
	}
	return enc, nil
}

// envSpec is the rotation's view of one configured environment.
func envSpec(e config.Environment) (spec envSpecParts, err error) {
	if !e.IsSOPS() {
		return envSpecParts{}, nil
	}
	enc, err := sopsEncoder(e)
	if err != nil {
		return envSpecParts{}, err
	}
	return envSpecParts{encryption: seal.EncryptionSOPS, encoder: enc}, nil
}

// envSpecParts are the format fields of rotate.EnvSpec and seal.Environment.
type envSpecParts struct {
	encryption seal.Encryption
	encoder    seal.Encoder
}
