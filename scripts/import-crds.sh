#!/usr/bin/env bash
# Regenerates imports/ from the CRD files the package ships in crds/ (never edit imports/ by hand).
# One alias per file: two CRDs of one group would otherwise overwrite each other (cdk8s-team/cdk8s#883).
set -euo pipefail
cd "$(dirname "$0")/.."
crds=crds
# cdk8s import records each import in cdk8s.yaml (and drops its comments): keep ours as it is.
config="$(mktemp)"
cp cdk8s.yaml "$config"
trap 'cp "$config" cdk8s.yaml; rm -f "$config"' EXIT
rm -rf imports && mkdir imports
# Only the kinds the constructs create; ApplicationSet (written as a plain ApiObject) would add 3 MB of TypeScript.
for alias_file in \
  objectbucketclaims:objectbucketclaims.objectbucket.io.yaml \
  externalsecrets:externalsecrets.external-secrets.io.yaml \
  sealedsecrets:sealedsecrets.bitnami.com.yaml \
  applications:applications.argoproj.io.yaml \
  kustomizations:kustomizations.kustomize.toolkit.fluxcd.io.yaml \
  gitrepositories:gitrepositories.source.toolkit.fluxcd.io.yaml \
  prometheusrules:prometheusrules.monitoring.coreos.com.yaml
do
  alias="${alias_file%%:*}"
  file="${alias_file#*:}"
  npx --no-install cdk8s import --no-check-upgrade --language typescript --output imports "$alias:=$crds/$file" >/dev/null
done
ls imports
