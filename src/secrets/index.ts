// Secrets: ejson-compatible and SOPS (age) files, Vault references, key providers, Secret generation, redaction.
export { formatBoxedMessage, isBoxedMessage, parseBoxedMessage } from './boxed-message.js';
export type { BoxedMessage } from './boxed-message.js';
export { decryptEjson, encryptEjson, PUBLIC_KEY_FIELD, readEjsonPublicKey } from './ejson.js';
export type { EjsonSourceOptions, EncryptEjsonOptions } from './ejson.js';
export { editEjsonFile } from './edit.js';
export type { EditEjsonFileOptions, EditEjsonFileResult } from './edit.js';
export { decryptEjsonFile, defaultKeyProviders, encryptEjsonFile } from './files.js';
export type {
  DecryptedEjsonFile,
  DecryptEjsonFileOptions,
  DefaultKeyProvidersOptions,
  EncryptEjsonFileOptions,
  EncryptEjsonFileResult,
} from './files.js';
export {
  DEFAULT_EJSON_KEYDIR,
  DEFAULT_PRIVATE_KEY_ENV,
  envKeyProvider,
  keydirKeyProvider,
  resolveKeydir,
  resolvePrivateKey,
  staticKeyProvider,
  writePrivateKeyFile,
} from './key-providers.js';
export type {
  EnvKeyProviderOptions,
  KeydirKeyProviderOptions,
  KeyProvider,
  ResolvedPrivateKey,
  ResolvePrivateKeyOptions,
  Warn,
  WritePrivateKeyFileOptions,
} from './key-providers.js';
export { cryptoRandomBytes, generateKeyPair, SecretsErrorCode } from './keys.js';
export type { EjsonKeyPair, RandomBytes } from './keys.js';
export {
  EJSON_SECRET_ANNOTATION,
  findUnencryptedValues,
  KUBERNETES_SECRETS_FIELD,
  planSecretsFromEjson,
} from './kubernetes-secrets.js';
export type { FindUnencryptedValuesOptions, PlanSecretsOptions } from './kubernetes-secrets.js';
export {
  createRedactor,
  deployPublicNames,
  MIN_REDACTED_LENGTH,
  REDACTED,
  Redactor,
  secretValues,
  summarizeSecretDiff,
  unredactableSecretWarnings,
} from './redaction.js';
export type { SecretKeyChange, SecretKeyDiff } from './redaction.js';
export {
  ageIdentitySources,
  defaultAgeKeysFile,
  loadAgeIdentities,
  parseAgeIdentities,
  SopsErrorCode,
} from './sops-age.js';
export type { AgeIdentity, LoadAgeIdentitiesOptions } from './sops-age.js';
export { isSopsFileName, SOPS_FILE_NAME } from './sops-document.js';
export type { DecryptedSops } from './sops-document.js';
export {
  decryptSopsFile,
  decryptSopsFileText,
  DEFAULT_KUBERNETES_RULE,
  editSopsFile,
  encryptSopsFile,
  findCreationRule,
  readSopsObjects,
  readSopsObjectsUnverified,
  rotateSopsFile,
} from './sops-files.js';
export type {
  EditSopsFileOptions,
  EncryptSopsFileOptions,
  EncryptSopsFileResult,
  SopsCreationRule,
  SopsReadOptions,
} from './sops-files.js';
export type { SopsEncryptionRule } from './sops-format.js';
export {
  DEFAULT_KUBERNETES_TOKEN_PATH,
  DEFAULT_VAULT_TIMEOUT_MS,
  resolveVaultSettings,
  VAULT_AUTH_METHODS,
} from './vault-auth.js';
export type { JwtSource, VaultAuth, VaultSettings } from './vault-auth.js';
export { encodePath, ERR_VAULT, VaultClient } from './vault-client.js';
export type { VaultAnswer, VaultClientOptions, VaultMount } from './vault-client.js';
export {
  collectVaultReferences,
  formatVaultReference,
  parseVaultReference,
  VAULT_REFERENCE_PREFIX,
  vaultSecretId,
  writeVaultValues,
} from './vault-reference.js';
export type { SourcedObject, VaultReference, VaultReferenceSite } from './vault-reference.js';
export { resolveVaultReferences } from './vault-resolve.js';
export type { ResolveVaultOptions } from './vault-resolve.js';
