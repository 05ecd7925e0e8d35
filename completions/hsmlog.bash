# bash completion for hsmlog(1). Installed as
# $datadir/bash-completion/completions/hsmlog (loaded on demand by bash-completion).

_hsmlog()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local commands="scan incidents report query parse rules help"
    local topics="formats exit environment rule-format"
    local formats="table csv json json-array"
    local severities="info notice warning error critical"
    local global="--db --no-db --rules --no-site-rules --quiet --verbose --help --version"

    # Arguments of options, wherever they are.
    case $prev in
        --db | --rules)
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        -f | --format)
            COMPREPLY=($(compgen -W "$formats" -- "$cur"))
            return
            ;;
        -o | --output)
            COMPREPLY=($(compgen -W "text json" -- "$cur"))
            return
            ;;
        --fail-on)
            COMPREPLY=($(compgen -W "$severities" -- "$cur"))
            return
            ;;
        --year | --tz | --max-line | --max-depth | --max-size | --max-ratio | --since | --host | --rule)
            return
            ;;
    esac

    # The command is the first word that is not an option or an option's argument.
    local i cmd="" sub=""
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --db | --rules) ((i++)) ;;
            -*) ;;
            *)
                if [[ -z $cmd ]]; then
                    cmd=${words[i]}
                elif [[ -z $sub ]]; then
                    sub=${words[i]}
                fi
                ;;
        esac
    done

    case $cmd in
        "")
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$global" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "$commands" -- "$cur"))
            fi
            ;;
        scan)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--output --fail-on --year --tz --max-line --max-depth
                    --max-size --max-ratio $global" -- "$cur"))
            else
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            ;;
        parse)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--format --year --tz --max-line --max-depth $global" -- "$cur"))
            else
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            ;;
        incidents)
            COMPREPLY=($(compgen -W "--since --host --rule --open --format --rebuild $global" -- "$cur"))
            ;;
        report)
            COMPREPLY=($(compgen -W "--since --host --rule --open $global" -- "$cur"))
            ;;
        query)
            COMPREPLY=($(compgen -W "--format $global" -- "$cur"))
            ;;
        rules)
            if [[ -z $sub && $cur != -* ]]; then
                COMPREPLY=($(compgen -W "list check test path" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "--format $global" -- "$cur"))
            fi
            ;;
        help)
            [[ -z $sub ]] && COMPREPLY=($(compgen -W "$commands $topics" -- "$cur"))
            ;;
    esac
}
complete -F _hsmlog -o bashdefault -o default hsmlog
