# jq -s -f flows-per-owner.jq FLOWS_FILE: bytes and packets per owner and direction, summed
# over flow records (one JSON object per line), for a check against tmtop's own totals.
group_by(.owner, .direction)
| map({owner: .[0].owner, direction: .[0].direction,
       bytes: (map(.bytes) | add), packets: (map(.packets) | add)})
