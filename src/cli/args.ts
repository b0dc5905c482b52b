// Command-line words: positionals, `--flag value` (repeatable) and boolean `--flag`.

export interface Args {
  positional: string[];
  flags: Map<string, string[]>;
}

export function parseArgs(argv: readonly string[], booleans: ReadonlySet<string>): Args {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (!word.startsWith('--')) {
      positional.push(word);
      continue;
    }
    const [name, inline] = word.slice(2).split(/=(.*)/s, 2);
    let value = inline;
    if (value === undefined) {
      if (booleans.has(name)) value = 'true';
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new Error(`--${name} needs a value`);
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positional, flags };
}

export function flag(args: Args, name: string): string | undefined {
  return args.flags.get(name)?.at(-1);
}

export function integerFlag(args: Args, name: string): number | undefined {
  const text = flag(args, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new Error(`--${name} takes a whole number, not '${text}'`);
  return Number(text);
}

/** `text` if it is one of `words`, else an error that says what --`name` takes. */
export function oneOf<W extends string>(name: string, words: readonly W[], text: string): W {
  const word = words.find((w) => w === text);
  if (word === undefined) throw new Error(`--${name}: '${text}' is not one of ${words.join(', ')}`);
  return word;
}

/** The word --`name` gives, which must be one of `words`. */
export function choiceFlag<W extends string>(args: Args, name: string, words: readonly W[]): W | undefined {
  const text = flag(args, name);
  return text === undefined ? undefined : oneOf(name, words, text);
}
