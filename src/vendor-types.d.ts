declare module 'm3u8-parser' {
  export class Parser {
    manifest: any;
    on(event: 'warn' | 'info', cb: (e: { message: string }) => void): void;
    push(chunk: string): void;
    end(): void;
  }
}
declare module 'mpd-parser' {
  export function parse(text: string, options?: { manifestUri?: string }): any;
}
