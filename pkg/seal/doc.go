// Package seal turns a renewed secret into Bitnami SealedSecret manifests,
// one per provider key per environment overlay, and reads them back.
//
// Each environment is its own cluster with its own sealed-secrets controller
// and certificate. LoadCertificate fetches and checks that certificate (from
// a file or the controller's /v1/cert.pem); Write seals the secret with it,
// using the sealed-secrets library for the encryption label and the scope
// semantics, and writes <env path>/<provider key>.yaml, updating an existing
// file in place so that other keys' ciphertext and anything a person added
// survive; ReadManifests returns what the credrotate annotations of a
// checkout say is deployed.
//
// The package never logs and never imports the configuration package: it
// takes plain option structs and returns warnings as values.
package seal
