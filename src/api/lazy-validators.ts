// The API's request schemas, each compiled by Ajv when its route is first called rather than
// all of them when the API is readied. Compiling them all was most of the 0.2–0.5 s the agent's
// thread took to ready its API at a start, and a restarted agent's first upcalls waited behind
// it (docs/RELIABILITY.md). A route's first call pays for its own schema, a few milliseconds.
import AjvCompiler, { ValidatorCompiler, ValidatorFactory } from '@fastify/ajv-compiler';

/** Fastify's own Ajv compiler (the same options, shared schemas and errors), deferred. */
export function lazyValidators(): ValidatorFactory {
  const build = AjvCompiler();
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options);
    const compileLater: ValidatorCompiler = (route) => {
      let validate: ReturnType<ValidatorCompiler> | undefined;
      const deferred = ((data: unknown) => {
        validate ??= compile(route);
        const valid = validate(data);
        // Fastify reads a failed call's reasons from the function it was given.
        deferred.errors = validate.errors;
        return valid;
      }) as ReturnType<ValidatorCompiler>;
      return deferred;
    };
    return compileLater;
  };
}
