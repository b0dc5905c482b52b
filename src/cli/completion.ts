// `vswitch completion bash`: a bash completion script made from the help text (its commands and
// their subcommands, as `--help` prints them) and from the table of options each command takes
// (what the parser accepts): the two cannot drift apart from what completes.

/** Commands and their subcommands, read from the usage text: `  bridge|router list`, `flows
 *  [flush]`, and a second command further on its line (`  port unbind PORT      port delete PORT`). */
export function commandsOf(usage: string): Map<string, Set<string>> {
  const lines = usage.split('\n');
  const names = new Set(lines.flatMap((line) => /^ {2}([a-z][a-z|-]*)/.exec(line)?.[1].split('|') ?? []));
  const commands = new Map<string, Set<string>>();
  const add = (segment: string, first: boolean) => {
    const [head = '', second = ''] = segment.trim().split(/\s+/);
    const heads = head.split('|');
    const sub = /^\[?([a-z][a-z|-]*)\]?$/.exec(second)?.[1];
    // Past the first, a segment is a command only when it names one and a subcommand.
    if (!heads.every((h) => names.has(h)) || (!first && !sub)) return;
    for (const h of heads) {
      const subs = commands.get(h) ?? new Set<string>();
      for (const s of sub?.split('|') ?? []) subs.add(s);
      commands.set(h, subs);
    }
  };
  for (const line of lines) {
    if (!/^ {2}[a-z]/.test(line)) continue;
    line.trim().split(/\s{4,}/).forEach((segment, i) => add(segment, i === 0));
  }
  return commands;
}

/** The script: `source <(vswitch completion bash)`, or save it under /etc/bash_completion.d. */
export function bashCompletion(usage: string, options: Record<string, string[]>, global: string[]): string {
  const commands = commandsOf(usage);
  const words = (list: Iterable<string>, dashes = '') => [...new Set(list)].map((w) => `${dashes}${w}`).join(' ');
  const optionCases = Object.entries(options)
    .sort(([a], [b]) => b.split(' ').length - a.split(' ').length) // "port add" before "port"
    .map(([command, names]) => `    "${command}"${command.includes(' ') ? '' : '|"' + command + ' "*'}) opts="${words(names, '--')}" ;;`);
  const subCases = [...commands].filter(([, subs]) => subs.size > 0).map(([command, subs]) => `    ${command}) COMPREPLY=($(compgen -W "${words(subs)}" -- "$cur")) ;;`);
  return `# bash completion for vswitch, made by \`vswitch completion bash\` from its help and options.
_vswitch() {
  local cur=\${COMP_WORDS[COMP_CWORD]} command=\${COMP_WORDS[1]} sub=\${COMP_WORDS[2]} opts=""
  if [[ $cur == -* ]]; then
    case "$command $sub" in
${optionCases.join('\n')}
    esac
    COMPREPLY=($(compgen -W "$opts ${words(global, '--')}" -- "$cur"))
    return
  fi
  if (( COMP_CWORD == 1 )); then
    COMPREPLY=($(compgen -W "${words(commands.keys())}" -- "$cur"))
  elif (( COMP_CWORD == 2 )); then
    case "$command" in
${subCases.join('\n')}
    esac
  fi
}
complete -o default -F _vswitch vswitch
`;
}
