#!/usr/bin/env bash
# Publishes the build outputs the stack deploys: the functions zip to the artifacts bucket
# (gcloud image) or the container images to Artifact Registry (docker image): the query API's and the
# export job's, both tagged with the release.
# Usage: publish.sh functions|image PROJECT_ID REGION RELEASE
set -euo pipefail
what="$1" project="$2" region="$3" release="$4"
case "$what" in
  functions)
    gcloud storage cp dist/functions.zip "gs://${project}-tillstream-artifacts/functions/${release}.zip"
    ;;
  image)
    for name in query-api export-job; do
      image="${region}-docker.pkg.dev/${project}/tillstream/${name}:${release}"
      docker build -f "infra-cdktf/build/${name}.Dockerfile" -t "$image" .
      docker push "$image"
    done
    ;;
  *)
    echo "usage: publish.sh functions|image PROJECT_ID REGION RELEASE" >&2
    exit 2
    ;;
esac
