// The one value Capstan takes from @kubernetes/client-node: its KubeConfig (kubeconfig loading and
// the authenticators). Imported by name, so that the bundled CLI carries only what KubeConfig needs
// and not the generated API clients (scripts/bundle.mjs).
export { KubeConfig } from '@kubernetes/client-node';
