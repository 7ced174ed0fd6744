// Types for the parts of kong-pdk's test harness (node_modules/kong-pdk/plugin_test.js) the specs use;
// the package ships none for it.
declare module 'kong-pdk/plugin_test' {
  export class Request {
    constructor(request?: Request);
    url: URL;
    headers: Headers;
    method: string;
    useURL(url: string): this;
    useHeaders(headers: Readonly<Record<string, string>>): this;
    useMethod(method: string): this;
  }

  export class Response {
    status: number | undefined;
    body: unknown;
    headers: Headers;
  }

  /** One end of the queue pair between the plugin's PDK object and the harness's mock of Kong. */
  export interface Pipe {
    get(): Promise<unknown>;
    put(value: unknown): void;
  }

  export class PluginTest {
    constructor(request: Request);
    readonly request: Request;
    readonly response: Response;
    /** The harness's end: PDK calls arrive here as `{ Method, Args }`, answers go back as `[result, error]`. */
    ch: Pipe;
    exiting: boolean;
    /** Runs the plugin module's phases for this request (certificate, access, rewrite, response, log). */
    Run(pluginModule: object, config: unknown): Promise<{ mod: unknown; instance: unknown }>;
  }
}
