package config

import (
	"fmt"
	"strings"

	"filippo.io/age"
)

// Encryptions of an environment's manifests.
const (
	// EncryptionSealedSecrets writes Bitnami SealedSecrets (the default).
	EncryptionSealedSecrets = "sealedSecrets"
	// EncryptionSOPS writes Kubernetes Secrets whose data and stringData
	// values are encrypted with SOPS for age recipients, as Flux's
	// kustomize-controller decrypts them.
	EncryptionSOPS = "sops"
)

// SOPS configures an environment whose encryption is sops.
type SOPS struct {
	// AgeRecipients are the age public keys (age1...) every file of the
	// environment is encrypted for: usually the cluster's key (the one in
	// the Flux decryption Secret) and a break-glass key of the team.
	AgeRecipients []string `json:"ageRecipients,omitempty"`
	// AgeKeyFile optionally names a file holding an age identity
	// (AGE-SECRET-KEY-1...) of one of the recipients. With it, updating a
	// file that also holds keys credrotate does not manage keeps their
	// ciphertext; without it such a file cannot be updated (only the
	// recipients' private keys can open the file's data key).
	AgeKeyFile string `json:"ageKeyFile,omitempty"`
}

// IsSOPS says whether the environment's manifests are SOPS-encrypted.
func (e Environment) IsSOPS() bool { return e.Encryption == EncryptionSOPS }

// validateSOPSEnvironment checks an environment whose encryption is not
// sealedSecrets; k is its key ("environments[1]").
func validateSOPSEnvironment(ps *problems, k string, e Environment) {
	if e.Encryption != EncryptionSOPS {
		ps.add(k+".encryption", e.Encryption, "is not an encryption", "use sealedSecrets (the default) or sops")
		return
	}
	if e.Cert.File != "" || e.Cert.URL != "" {
		ps.add(k+".cert", "", "is a sealing certificate, but the environment's encryption is sops", "remove cert (SOPS files are encrypted for sops.ageRecipients), or set encryption: sealedSecrets")
	}
	if e.CertFingerprint != "" {
		ps.add(k+".certFingerprint", e.CertFingerprint, "belongs to a sealing certificate, but the environment's encryption is sops", "remove certFingerprint")
	}
	if e.Scope != "" && e.Scope != ScopeStrict {
		ps.add(k+".scope", e.Scope, "is a sealing scope, but the environment's encryption is sops", "remove scope (a SOPS Secret is bound to no name or namespace)")
	}
	if e.Namespace != "" && !dnsLabel.MatchString(e.Namespace) {
		ps.add(k+".namespace", e.Namespace, "is not a Kubernetes namespace", "use the namespace this overlay renders, or leave it empty")
	}
	if len(e.SOPS.AgeRecipients) == 0 {
		ps.add(k+".sops.ageRecipients", "", "is empty", "list the age public keys (age1...) that may decrypt this environment's files: the cluster's (`age-keygen -y` of the key in Flux's decryption Secret) and a break-glass key")
	}
	seen := map[string]int{}
	for i, r := range e.SOPS.AgeRecipients {
		rk := fmt.Sprintf("%s.sops.ageRecipients[%d]", k, i)
		if err := CheckAgeRecipient(r); err != nil {
			ps.add(rk, shorten(r), err.Error(), "use an age X25519 public key as `age-keygen -y KEYFILE` prints it (age1 followed by 58 characters)")
			continue
		}
		if j, dup := seen[r]; dup {
			ps.add(rk, shorten(r), fmt.Sprintf("is listed twice (also ageRecipients[%d])", j), "list each recipient once")
			continue
		}
		seen[r] = i
	}
}

// CheckAgeRecipient says whether r is an age public key SOPS can encrypt
// for: an X25519 recipient (age1...) or a hybrid post-quantum one
// (age1pq1...). Plugin and SSH recipients are refused: the job runs with
// no plugins and no terminal.
func CheckAgeRecipient(r string) error {
	switch {
	case r == "":
		return fmt.Errorf("is empty")
	case strings.HasPrefix(r, "AGE-SECRET-KEY-"):
		return fmt.Errorf("is an age private key, not a recipient (never put a private key in the configuration)")
	case strings.HasPrefix(r, "ssh-"):
		return fmt.Errorf("is an SSH key; credrotate encrypts for age X25519 recipients only")
	case strings.HasPrefix(r, "age1pq1"):
		if _, err := age.ParseHybridRecipient(r); err != nil {
			return fmt.Errorf("is not a valid age post-quantum recipient")
		}
		return nil
	case strings.HasPrefix(r, "age1") && strings.Count(r, "1") > 1 && !isX25519(r):
		return fmt.Errorf("is not a valid age recipient (age plugin recipients are not supported)")
	}
	if !isX25519(r) {
		return fmt.Errorf("is not a valid age recipient")
	}
	return nil
}

func isX25519(r string) bool {
	_, err := age.ParseX25519Recipient(r)
	return err == nil
}

// shorten keeps a long value readable in a message.
func shorten(s string) string {
	if strings.HasPrefix(s, "AGE-SECRET-KEY-") {
		return "AGE-SECRET-KEY-…"
	}
	if len(s) > 24 {
		return s[:20] + "…"
	}
	return s
}
