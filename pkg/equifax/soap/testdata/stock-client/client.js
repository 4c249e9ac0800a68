// A stock SOAP client (node-soap) pointed at the emulator's served WSDL:
// IssueToken with a WS-Security UsernameToken, then GetCredentialInfo with
// the token as an HTTP Bearer header. Prints a JSON summary, never the
// secret or the token.
//
// usage: node client.js WSDL_URL CLIENT_ID CLIENT_SECRET SCOPE
'use strict';
const soap = require('soap');

async function main() {
  const [wsdlURL, clientId, secret, scope] = process.argv.slice(2);
  if (!scope) {
    throw new Error('usage: node client.js WSDL_URL CLIENT_ID CLIENT_SECRET SCOPE');
  }
  const tokenClient = await soap.createClientAsync(wsdlURL);
  tokenClient.setSecurity(new soap.WSSecurity(clientId, secret, { passwordType: 'PasswordText' }));
  const [tok] = await tokenClient.IssueTokenAsync({ GrantType: 'client_credentials', Scope: scope });

  const client = await soap.createClientAsync(wsdlURL);
  client.addHttpHeader('Authorization', 'Bearer ' + tok.AccessToken);
  const [info] = await client.GetCredentialInfoAsync({ ClientId: clientId });
  const secrets = [].concat(info.Secret || []).map((s) => ({ secretId: s.SecretId, status: s.Status }));
  process.stdout.write(JSON.stringify({
    tokenType: tok.TokenType,
    expiresIn: Number(tok.ExpiresIn),
    scope: tok.Scope,
    clientId: info.ClientId,
    secrets,
  }) + '\n');
}

main().catch((err) => {
  const msg = err && err.root && err.root.Envelope ? JSON.stringify(err.root.Envelope.Body) : String((err && err.message) || err);
  process.stderr.write('stock SOAP client failed: ' + msg + '\n');
  process.exit(1);
});
