#!/bin/bash
# The folders of src/ form a layered graph: a file includes only its own
# folder and folders below it (README, "Layout"). Prints every include that
# climbs or stays level across folders, and every folder the table does not
# know, and fails when there is any. Usage: check_includes.sh SRC_DIR
set -u
src=${1:?usage: check_includes.sh SRC_DIR}

# Bottom to top; folders of one rank may not include each other.
declare -A rank=(
  [core]=0
  [net]=1
  [tls]=2
  [http/codec]=3
  [config]=4
  [upstream]=5
  [balance]=6 [health]=6 [ledger]=6 [discovery]=6
  [metrics]=7
  [http]=8 [l4]=8
  [admin]=9
  [app]=10
  [main]=11 [demo]=11
)

# Sets `folder`: src/http/codec/parser.h -> http/codec; src/main.cc -> main.
folder_of() {
  case $1 in
    http/codec/*) folder=http/codec ;;
    */*) folder=${1%%/*} ;;
    *) folder=${1%.*} ;;
  esac
}

violations=0
while IFS= read -r -d '' file; do
  relative=${file#"$src"/}
  folder_of "$relative"
  from=$folder
  if [[ -z ${rank[$from]+set} ]]; then
    echo "$relative: folder '$from' has no place in the layering table"
    violations=$((violations + 1))
    continue
  fi
  while IFS=: read -r line text; do
    [[ $text =~ ^#include\ \"([^\"]+)\" ]] || continue
    included=${BASH_REMATCH[1]}
    folder_of "$included"
    to=$folder
    [[ $to == "$from" ]] && continue
    if [[ -z ${rank[$to]+set} ]]; then
      echo "$relative:$line: includes $included from folder '$to', which has no place in the table"
      violations=$((violations + 1))
    elif ((rank[$to] >= rank[$from])); then
      echo "$relative:$line: $from includes $included, which is not below it"
      violations=$((violations + 1))
    fi
  done < <(grep -n '^#include "' "$file")
done < <(find "$src" -type f \( -name '*.h' -o -name '*.cc' \) -print0 | sort -z)

if ((violations > 0)); then
  echo "$violations include(s) break the layering"
  exit 1
fi
echo "layering: every include points down"
